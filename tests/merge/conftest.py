"""Checkpoints for merge tests: copies of the tiny model with different weights (same tokenizer and config),
as fine-tunes of one base are; `init_model` with another seed builds a model with another tokenizer."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file


def variant(base: Path, out: Path, seed: int, scale: float = 0.05, dtype: torch.dtype | None = None) -> Path:
    """`base` with Gaussian noise of std `scale` added to every tensor (seeded), optionally cast."""
    shutil.copytree(base, out)
    g = torch.Generator().manual_seed(seed)
    sd = load_file(str(out / "model.safetensors"))
    sd = {k: (v + scale * torch.randn(v.shape, generator=g)).to(dtype or v.dtype) for k, v in sd.items()}
    save_file(sd, str(out / "model.safetensors"), metadata={"format": "pt"})
    return out


@pytest.fixture(scope="session")
def ckpts(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """base (the tiny model) and three fine-tune stand-ins a, b, c."""
    root = tmp_path_factory.mktemp("merge_ckpts")
    return {
        "base": tiny_model_dir,
        **{n: variant(tiny_model_dir, root / n, seed=i + 1) for i, n in enumerate("abc")},
    }
