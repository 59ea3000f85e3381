"""Images to model inputs, shared by the engines and the learner so both see exactly the same tokens.

Prompts are stored with one `<|image_pad|>` per image (compact, and what vLLM expects for token prompts).
`expand_image_tokens` repeats each pad to the image's token count, computed from the image processor's
grid (t, h, w) as t*h*w / merge^2 — the same rule vLLM applies — so a prompt never carries a mismatched
count of image tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from PIL import Image


@dataclass
class VisionInputs:
    pixel_values: torch.Tensor | None  # (sum of patches, C*T*P*P)
    image_grid_thw: torch.Tensor | None  # (n_images, 3)


def _pil(image: Any) -> Image.Image:
    if isinstance(image, Image.Image):
        return image.convert("RGB")
    return Image.fromarray(np.asarray(image, dtype=np.uint8)).convert("RGB")


def process_images(processor: Any, images: list[Any]) -> VisionInputs:
    """Pixel patches and grids for a list of images (empty list -> no vision inputs)."""
    if not images:
        return VisionInputs(None, None)
    out = processor.image_processor(images=[_pil(im) for im in images], return_tensors="pt")
    return VisionInputs(out["pixel_values"], out["image_grid_thw"])


def merge_size(processor: Any) -> int:
    return int(getattr(processor.image_processor, "merge_size", 2))


def image_token_counts(grid_thw: torch.Tensor | None, merge: int) -> list[int]:
    if grid_thw is None:
        return []
    return [int(t * h * w) // (merge * merge) for t, h, w in grid_thw.tolist()]


def expand_image_tokens(ids: list[int], counts: list[int], image_token_id: int) -> list[int]:
    """Repeat the i-th `image_token_id` counts[i] times. Raises if pads and images disagree."""
    n_pads = sum(1 for t in ids if t == image_token_id)
    if n_pads != len(counts):
        raise ValueError(f"prompt has {n_pads} image placeholders but {len(counts)} images were given")
    out: list[int] = []
    it = iter(counts)
    for t in ids:
        out.extend([t] * next(it) if t == image_token_id else [t])
    return out


def mm_token_type_ids(input_ids: torch.Tensor, image_token_id: int, video_token_id: int) -> torch.Tensor:
    """0 text, 1 image, 2 video — transformers 5 Qwen2.5-VL needs it for 3-D (M-RoPE) positions."""
    return (input_ids == image_token_id).long() + 2 * (input_ids == video_token_id).long()
