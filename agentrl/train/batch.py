"""TrainSamples -> padded model batches, with image pads expanded exactly as the engines expand them.

Every per-token tensor is aligned with `input_ids` (B, T). `loss_mask[b, t] = 1` means token t is predicted
(its loss counts); image tokens are never predicted. Extra per-token fields (old logprobs, advantages,
returns for PPO) travel in `extras`, aligned the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from agentrl.data.samples import TrainSample
from agentrl.models.multimodal import (
    expand_image_tokens,
    image_token_counts,
    merge_size,
    mm_token_type_ids,
    process_images,
)


@dataclass
class Batch:
    input_ids: torch.Tensor  # (B, T) long
    attention_mask: torch.Tensor  # (B, T) long
    loss_mask: torch.Tensor  # (B, T) float
    mm_token_type_ids: torch.Tensor  # (B, T) long
    pixel_values: torch.Tensor | None = None  # (sum patches, C*T*P*P)
    image_grid_thw: torch.Tensor | None = None  # (n_images, 3)
    extras: dict[str, torch.Tensor] = field(default_factory=dict)  # (B, T) each

    @property
    def num_tokens(self) -> int:
        return int(self.attention_mask.sum())

    @property
    def num_trainable(self) -> float:
        return float(self.loss_mask.sum())

    def model_inputs(self, device: torch.device | str, dtype: torch.dtype) -> dict[str, Any]:
        out: dict[str, Any] = {
            "input_ids": self.input_ids.to(device),
            "attention_mask": self.attention_mask.to(device),
            "mm_token_type_ids": self.mm_token_type_ids.to(device),
        }
        if self.pixel_values is not None:
            out["pixel_values"] = self.pixel_values.to(device, dtype)
            out["image_grid_thw"] = self.image_grid_thw.to(device)
        return out

    def trained_positions(self) -> torch.Tensor:
        """The positions whose logits the loss reads: t where token t+1 is trained in some row, then the
        last position (a placeholder the shifted view drops). Sorted, 1-D, long."""
        predicts = self.loss_mask[:, 1:].any(dim=0).nonzero().squeeze(-1)  # t: x_{t+1} is trained somewhere
        return torch.cat([predicts, torch.tensor([self.input_ids.shape[1] - 1])])

    def targets_view(self, keep: torch.Tensor) -> Batch:
        """This batch as seen by logits computed only at `keep` (from `trained_positions`): position j+1 of
        the view is position keep[j]+1 here (the token logit j predicts), position 0 is never predicted.
        Objectives run on (logits[:, keep], view) exactly as on (logits, batch), without the LM head and
        log-softmax over every prompt and image position: most of a GUI sample is prompt."""
        targets = keep[:-1] + 1

        def shifted(x: torch.Tensor) -> torch.Tensor:
            return torch.nn.functional.pad(x[:, targets], (1, 0))

        return Batch(
            input_ids=shifted(self.input_ids), attention_mask=shifted(self.attention_mask),
            loss_mask=shifted(self.loss_mask), mm_token_type_ids=shifted(self.mm_token_type_ids),
            extras={k: shifted(v) for k, v in self.extras.items()},
        )  # fmt: skip


@dataclass
class Expanded:
    ids: list[int]
    mask: list[float]
    pixel_values: torch.Tensor | None
    grid: torch.Tensor | None
    extras: dict[str, list[float]]


def expand_sample(
    sample: TrainSample, processor: Any, image_token_id: int, extras: dict[str, list[float]] | None = None
) -> Expanded:
    """Expand image pads; mask and extras are repeated with their pad (image tokens get mask 0)."""
    vis = process_images(processor, sample.images)
    counts = image_token_counts(vis.image_grid_thw, merge_size(processor))
    ids = expand_image_tokens(sample.input_ids, counts, image_token_id)
    it = iter(counts)
    mask: list[float] = []
    ex: dict[str, list[float]] = {k: [] for k in (extras or {})}
    for j, (t, m) in enumerate(zip(sample.input_ids, sample.loss_mask, strict=True)):
        n = next(it) if t == image_token_id else 1
        mask.extend([0.0 if t == image_token_id else float(m)] * n)
        for k, v in (extras or {}).items():
            ex[k].extend([v[j]] * n)
    return Expanded(ids, mask, vis.pixel_values, vis.image_grid_thw, ex)


def collate(items: list[Expanded], pad_id: int, image_token_id: int, video_token_id: int) -> Batch:
    """Right-pad a list of expanded samples into one Batch."""
    width = max(len(e.ids) for e in items)
    b = len(items)
    ids = torch.full((b, width), pad_id, dtype=torch.long)
    attn = torch.zeros((b, width), dtype=torch.long)
    mask = torch.zeros((b, width), dtype=torch.float32)
    keys = list(items[0].extras)
    extras = {k: torch.zeros((b, width), dtype=torch.float32) for k in keys}
    for i, e in enumerate(items):
        n = len(e.ids)
        ids[i, :n] = torch.tensor(e.ids, dtype=torch.long)
        attn[i, :n] = 1
        mask[i, :n] = torch.tensor(e.mask, dtype=torch.float32)
        for k in keys:
            extras[k][i, :n] = torch.tensor(e.extras[k], dtype=torch.float32)
    pix = [e.pixel_values for e in items if e.pixel_values is not None]
    grids = [e.grid for e in items if e.grid is not None]
    return Batch(
        input_ids=ids, attention_mask=attn, loss_mask=mask,
        mm_token_type_ids=mm_token_type_ids(ids, image_token_id, video_token_id),
        pixel_values=torch.cat(pix) if pix else None, image_grid_thw=torch.cat(grids) if grids else None,
        extras=extras,
    )  # fmt: skip


def split_for_ranks(samples: list[Any], world_size: int) -> list[list[Any]]:
    """Deal samples to ranks round-robin after sorting by length, so ranks get similar token counts."""
    order = sorted(range(len(samples)), key=lambda i: len(samples[i].input_ids), reverse=True)
    shards: list[list[Any]] = [[] for _ in range(world_size)]
    for j, i in enumerate(order):
        shards[j % world_size].append(samples[i])
    return shards


def micro_batches(items: list[Any], size: int) -> list[list[Any]]:
    """Consecutive groups of `size` after sorting by length (less padding per micro-batch)."""
    items = sorted(items, key=lambda e: len(e.ids) if hasattr(e, "ids") else len(e.input_ids))
    return [items[i : i + size] for i in range(0, len(items), size)]
