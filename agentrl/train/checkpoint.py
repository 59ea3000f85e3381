"""Checkpoint directories: discovery, validation before any compute, rotation.

OUTPUT/checkpoints/step-000100/   HF weights (transformers and vLLM load it as is), processor files,
                                  train_state_rank<r>.pt (optimizer, scheduler, RNG), state.json
                                  (step, data position), COMPLETE (written last)
OUTPUT/final/                     the last weights, same layout
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any


class CheckpointError(ValueError):
    pass


def step_dir(output: Path, step: int) -> Path:
    return output / "checkpoints" / f"step-{step:06d}"


def complete_checkpoints(output: Path, kind: str = "step") -> list[Path]:
    """`output/checkpoints/<kind>-N` with their COMPLETE marker, oldest first (SFT/CT: step, PPO: iter)."""
    return sorted(p for p in (output / "checkpoints").glob(f"{kind}-*") if (p / "COMPLETE").exists())


def latest(output: Path, kind: str = "step") -> Path | None:
    found = complete_checkpoints(output, kind)
    return found[-1] if found else None


def rotate(output: Path, keep_last: int) -> None:
    found = complete_checkpoints(output)
    for p in found[: max(0, len(found) - keep_last)]:
        shutil.rmtree(p, ignore_errors=True)


def validate_resume(directory: Path, world_size: int) -> dict[str, Any]:
    """Refuse an incomplete or mismatched checkpoint before any compute is spent."""
    if not directory.is_dir():
        raise CheckpointError(f"resume: '{directory}' does not exist")
    if not (directory / "COMPLETE").exists():
        raise CheckpointError(
            f"resume: '{directory}' is incomplete (no COMPLETE marker: the save was interrupted)"
        )
    state = json.loads((directory / "state.json").read_text())
    missing = [
        f"train_state_rank{r}.pt"
        for r in range(world_size)
        if not (directory / f"train_state_rank{r}.pt").exists()
    ]
    if state.get("world_size") != world_size or missing:
        raise CheckpointError(
            f"resume: '{directory}' was saved with world_size={state.get('world_size')}, "
            f"this run has {world_size}" + (f" (missing {missing[0]})" if missing else "")
        )
    return state


def check_same_architecture(base: Path, other: Path) -> None:
    """The checkpoint to start from must match the base model's architecture and sizes."""
    keys = ("model_type", "architectures")
    a, b = (json.loads((p / "config.json").read_text()) for p in (base, other))
    text_keys = ("hidden_size", "num_hidden_layers", "num_attention_heads", "vocab_size")

    def sizes(c: dict[str, Any]) -> tuple:
        t = c.get("text_config", c)
        return tuple(t.get(k) for k in text_keys)

    if tuple(a.get(k) for k in keys) != tuple(b.get(k) for k in keys) or sizes(a) != sizes(b):
        raise CheckpointError(
            f"checkpoint '{other}' is a {b.get('architectures')} {dict(zip(text_keys, sizes(b)))}, "
            f"the model is a {a.get('architectures')} {dict(zip(text_keys, sizes(a)))}"
        )
