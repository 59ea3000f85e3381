"""Moving weights between the learner, checkpoints and engines.

transformers 5 names Qwen2.5-VL parameters differently in memory (`model.language_model.*`,
`model.visual.*`) and on disk (`model.*`, `visual.*`). Engines take either; checkpoints hold the disk form.
With tied embeddings `lm_head.weight` is always included (cloned), or an engine keeps its old output layer.
"""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import load_file, save

_MEMORY_TO_DISK = (("model.language_model.", "model."), ("model.visual.", "visual."))


def to_disk_names(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    out = {}
    for k, v in sd.items():
        for a, b in _MEMORY_TO_DISK:
            if k.startswith(a):
                k = b + k[len(a) :]
                break
        out[k] = v
    return out


def to_memory_names(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    out = {}
    for k, v in sd.items():
        if k.startswith("visual."):
            k = "model." + k
        elif k.startswith("model.") and not k.startswith(("model.language_model.", "model.visual.")):
            k = "model.language_model." + k[len("model.") :]
        out[k] = v
    return out


def with_lm_head(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Add `lm_head.weight` from the tied embedding when it is absent (cloned: safetensors refuses views)."""
    if "lm_head.weight" in sd:
        return sd
    for k in ("model.language_model.embed_tokens.weight", "model.embed_tokens.weight"):
        if k in sd:
            return {**sd, "lm_head.weight": sd[k].clone()}
    return sd


def load_state_dict_from_dir(path: str | Path) -> dict[str, torch.Tensor]:
    """All `*.safetensors` shards of an HF directory, in memory names, with lm_head."""
    path = Path(path)
    files = sorted(path.glob("*.safetensors"))
    if not files:
        raise FileNotFoundError(f"weights: no *.safetensors files in '{path}'")
    sd: dict[str, torch.Tensor] = {}
    for f in files:
        if f.name.startswith("adapter_"):
            continue
        sd.update(load_file(str(f)))
    return with_lm_head(to_memory_names(sd))


def to_safetensors_bytes(sd: dict[str, torch.Tensor]) -> bytes:
    """Serialise for a process boundary (vLLM's multiprocess engine turns raw tensors into lists)."""
    return save({k: v.detach().to("cpu").contiguous().clone() for k, v in with_lm_head(sd).items()})
