"""TrainSamples -> padded model batches, with image pads expanded exactly as the engines expand them.

Every per-token tensor is aligned with `input_ids` (B, T). `loss_mask[b, t] = 1` means token t is predicted
(its loss counts); image tokens are never predicted. Extra per-token fields (old logprobs, advantages,
returns for PPO) travel in `extras`, aligned the same way.

Two layouts: `collate` right-pads samples into rows; `collate_packed` puts them one after another in a
single row (padding-free, as verl's remove-padding), with each sample's own positions and its boundaries
in `cu_seqlens`, so attention stays inside a sample (agentrl.models.attention). Objectives are sums over
tokens, so they read both layouts alike. Micro-batches are sized by samples or by a token budget.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from agentrl.data.samples import TrainSample
from agentrl.models.multimodal import (
    VisionInputs,
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
    image_keys: list[str] = field(default_factory=list)  # content key of each image, in order
    position_ids: torch.Tensor | None = None  # (3, 1, T) packed: each sample's M-RoPE positions from 0
    cu_seqlens: torch.Tensor | None = None  # (n + 1,) packed: sample boundaries in the row

    @property
    def packed(self) -> bool:
        return self.cu_seqlens is not None

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
        if self.packed:  # no padding: positions given, segments instead of a mask
            from agentrl.models.attention import SEGMENTS_KWARG

            assert self.position_ids is not None and self.cu_seqlens is not None
            out.update(attention_mask=None, position_ids=self.position_ids.to(device))
            out[SEGMENTS_KWARG] = self.cu_seqlens.to(device)
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
    image_keys: list[str] = field(default_factory=list)


def _vision_inputs(sample: TrainSample, processor: Any, pixels: Any | None) -> tuple[Any, list[str]]:
    """The processor's pixel patches and grids for a sample's images, and the images' content keys; with a
    cache (agentrl.models.vision_cache.FeatureCache), an image seen before is not processed again."""
    from agentrl.models.vision_cache import image_key

    if not sample.images:
        return process_images(processor, []), []
    keys = [image_key(im) for im in sample.images]
    if pixels is None:
        return process_images(processor, sample.images), keys

    def compute(indices: list[int]) -> list[tuple[torch.Tensor, torch.Tensor]]:
        vis = process_images(processor, [sample.images[i] for i in indices])
        assert vis.pixel_values is not None and vis.image_grid_thw is not None
        rows = vis.image_grid_thw.prod(-1).tolist()
        return list(zip(vis.pixel_values.split(rows), vis.image_grid_thw.split(1), strict=True))

    parts = pixels.lookup(keys, compute)
    return VisionInputs(torch.cat([p for p, _ in parts]), torch.cat([g for _, g in parts])), keys


def expand_sample(
    sample: TrainSample,
    processor: Any,
    image_token_id: int,
    extras: dict[str, list[float]] | None = None,
    pixels: Any | None = None,
) -> Expanded:
    """Expand image pads; mask and extras are repeated with their pad (image tokens get mask 0). `pixels`:
    an optional cache of processed images by content (PPO's epochs and turns see the same screenshots)."""
    vis, keys = _vision_inputs(sample, processor, pixels)
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
    return Expanded(ids, mask, vis.pixel_values, vis.image_grid_thw, ex, keys)


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
        extras=extras, image_keys=[k for e in items for k in e.image_keys],
    )  # fmt: skip


def collate_packed(
    items: list[Expanded],
    image_token_id: int,
    video_token_id: int,
    positions: Callable[[Expanded], torch.Tensor],
) -> Batch:
    """Samples one after another in one (1, sum of lengths) row, no padding. `positions(e)` gives a
    sample's (3, len) M-RoPE positions from 0, exactly as it would get alone; `cu_seqlens` marks where each
    sample starts, so attention never crosses into another sample."""
    ids = torch.tensor([t for e in items for t in e.ids], dtype=torch.long)[None]
    lengths = torch.tensor([len(e.ids) for e in items])
    cu = torch.nn.functional.pad(lengths.cumsum(0), (1, 0)).to(torch.int32)
    keys = list(items[0].extras)

    def row(values: Callable[[Expanded], list[float]]) -> torch.Tensor:
        return torch.tensor([v for e in items for v in values(e)], dtype=torch.float32)[None]

    pix = [e.pixel_values for e in items if e.pixel_values is not None]
    grids = [e.grid for e in items if e.grid is not None]
    return Batch(
        input_ids=ids, attention_mask=torch.ones_like(ids), loss_mask=row(lambda e: e.mask),
        mm_token_type_ids=mm_token_type_ids(ids, image_token_id, video_token_id),
        pixel_values=torch.cat(pix) if pix else None, image_grid_thw=torch.cat(grids) if grids else None,
        extras={k: row(lambda e, k=k: e.extras[k]) for k in keys},
        image_keys=[k for e in items for k in e.image_keys],
        position_ids=torch.cat([positions(e) for e in items], dim=1)[:, None], cu_seqlens=cu,
    )  # fmt: skip


def split_for_ranks(samples: list[Any], world_size: int) -> list[list[Any]]:
    """Deal samples to ranks round-robin after sorting by length, so ranks get similar token counts."""
    order = sorted(range(len(samples)), key=lambda i: len(samples[i].input_ids), reverse=True)
    shards: list[list[Any]] = [[] for _ in range(world_size)]
    for j, i in enumerate(order):
        shards[j % world_size].append(samples[i])
    return shards


def _length(e: Any) -> int:
    return len(e.ids) if hasattr(e, "ids") else len(e.input_ids)


def micro_batches(items: list[Any], size: int) -> list[list[Any]]:
    """Consecutive groups of `size` after sorting by length (less padding per micro-batch)."""
    items = sorted(items, key=_length)
    return [items[i : i + size] for i in range(0, len(items), size)]


def token_micro_batches(items: list[Any], max_tokens: int, packed: bool) -> list[list[Any]]:
    """Groups by a token budget, after sorting by length: a group's cost is its summed length when packed,
    its padded size (count x longest) otherwise, and stays within `max_tokens` unless one sample is longer."""
    groups: list[list[Any]] = []
    for e in sorted(items, key=_length):
        if groups:
            g = groups[-1]
            cost = sum(map(_length, g)) + _length(e) if packed else (len(g) + 1) * _length(e)
            if cost <= max_tokens:
                g.append(e)
                continue
        groups.append([e])
    return groups
