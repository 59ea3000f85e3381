"""Load any Qwen2.5-VL-style policy — the tiny local model, a real checkpoint directory, or a hub id — the same way."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from transformers import AutoConfig, AutoModelForImageTextToText, AutoProcessor
from transformers.utils import logging as hf_logging

hf_logging.disable_progress_bar()  # one "Loading weights" bar per load clutters every command's output

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def resolve_dtype(name: str) -> torch.dtype:
    if name not in DTYPES:
        raise ValueError(f"dtype: '{name}' is not allowed; allowed: {', '.join(DTYPES)}")
    return DTYPES[name]


def load_processor(name_or_path: str | Path) -> Any:
    return AutoProcessor.from_pretrained(str(name_or_path))


def load_model(name_or_path: str | Path, dtype: str = "float32", device: str = "cpu") -> Any:
    """An image-text-to-text model in eval mode. Raises ValueError if the directory is not a VLM."""
    config = AutoConfig.from_pretrained(str(name_or_path))
    if getattr(config, "vision_config", None) is None:
        raise ValueError(
            f"model: '{name_or_path}' is not a vision-language model (no vision_config in its config)"
        )
    model = AutoModelForImageTextToText.from_pretrained(str(name_or_path), dtype=resolve_dtype(dtype))
    return model.to(device).eval()


def count_parameters(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def model_info(path: str | Path) -> dict[str, Any]:
    """Parameters, architecture and image-token budget of an HF model directory."""
    path = Path(path)
    config = AutoConfig.from_pretrained(str(path))
    processor = load_processor(path)
    model = load_model(path)
    total = count_parameters(model)
    vision = sum(p.numel() for n, p in model.named_parameters() if ".visual." in f".{n}")
    ip = processor.image_processor
    size = getattr(ip, "size", {}) or {}
    min_px = size.get("shortest_edge", getattr(ip, "min_pixels", None))
    max_px = size.get("longest_edge", getattr(ip, "max_pixels", None))
    unit = (ip.patch_size * ip.merge_size) ** 2
    extra = path / "agentrl_model.json"
    return {
        "path": str(path),
        "architecture": (config.architectures or [type(model).__name__])[0],
        "parameters": total,
        "parameters_vision": vision,
        "parameters_text": total - vision,
        "vocab_size": config.get_text_config().vocab_size,
        "hidden_size": config.get_text_config().hidden_size,
        "layers": config.get_text_config().num_hidden_layers,
        "image_min_pixels": min_px,
        "image_max_pixels": max_px,
        "image_tokens_min": min_px // unit if min_px else None,
        "image_tokens_max": max_px // unit if max_px else None,
        "preset": json.loads(extra.read_text())["preset"] if extra.exists() else None,
    }
