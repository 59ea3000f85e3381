"""TensorBoard: every training run logs its scalars under `<output_dir>/tb`."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def summary_writer(out: Path) -> Any:
    """A SummaryWriter at `out/tb`; None when tensorboard cannot be imported (training goes on without it)."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        return None
    return SummaryWriter(str(out / "tb"))
