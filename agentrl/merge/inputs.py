"""What a merge reads: full checkpoints and LoRA adapters, found, checked and opened tensor by tensor.

A checkpoint is an HF directory with `config.json` and `*.safetensors` (transformers' own, a learner's
`checkpoints/step-N` or `final`, a PPO `iter-N/actor`); a training checkpoint without its COMPLETE marker
is refused (the save was interrupted). A LoRA adapter is a PEFT directory (`adapter_config.json`,
`adapter_model.safetensors`, e.g. a LoRA run's `step-N/adapter`): it is merged into the base first,
W = W_base + (alpha / r) B A per target module, inside the stream.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from agentrl.merge.st_io import TensorReader
from agentrl.models.weights import to_disk_names


class MergeError(ValueError):
    """Inputs that cannot be merged; the message is one line naming the input, tensor or setting."""


TOKENIZER_FILES = ("tokenizer.json", "vocab.json", "merges.txt", "tokenizer.model")
# config.json keys that differ between saves of one model without changing it
VOLATILE_CONFIG_KEYS = {
    "transformers_version",
    "_name_or_path",
    "torch_dtype",
    "dtype",
    "use_cache",
    "agentrl_merge",
}
_ADAPTER_PREFIX, _LORA_A, _LORA_B = "base_model.model.", ".lora_A.weight", ".lora_B.weight"


@dataclass
class LoraAdapter:
    """Per base tensor (disk name): the adapter's A and B tensor names and the scale alpha / r."""

    modules: dict[str, tuple[str, str, float]]


@dataclass
class Source:
    """One input: a full checkpoint, or a LoRA adapter over the base."""

    path: Path
    kind: str  # "full" | "lora"
    weight_files: list[Path]
    config: dict[str, Any] | None = None  # None for an adapter (the base's applies)
    lora: LoraAdapter | None = None
    reader: TensorReader = field(init=False)

    def __post_init__(self) -> None:
        self.reader = TensorReader(self.weight_files)

    def sha256(self) -> str:
        """Of the weight files (and adapter config), in name order: what the merge record names."""
        h = hashlib.sha256()
        extra = [self.path / "adapter_config.json"] if self.kind == "lora" else []
        for f in sorted(self.weight_files + extra):
            h.update(f.name.encode() + b"\0")
            with open(f, "rb") as fh:
                while chunk := fh.read(1 << 20):
                    h.update(chunk)
        return h.hexdigest()


def resolve(path: str | Path, role: str = "checkpoint") -> Source:
    """The input at `path`, or MergeError saying why it is not one."""
    p = Path(path)
    if not p.is_dir():
        raise MergeError(f"{role} '{p}' does not exist or is not a directory")
    marker_dir = next(
        (d for d in (p, p.parent) if (d / "state.json").exists() or any(d.glob("train_state_rank*.pt"))), None
    )
    if marker_dir is not None and not (marker_dir / "COMPLETE").exists():
        raise MergeError(
            f"{role} '{p}' is incomplete (no COMPLETE marker in '{marker_dir}': the save was interrupted)"
        )
    weights = sorted(f for f in p.glob("*.safetensors") if not f.name.startswith("adapter_"))
    if (p / "adapter_config.json").exists() and not weights:
        return Source(p, "lora", [p / "adapter_model.safetensors"], lora=_read_adapter(p))
    if not weights or not (p / "config.json").exists():
        hint = ""
        if (p / "final").is_dir() or (p / "checkpoints").is_dir():
            hint = f" (a training output directory: pass '{p / 'final'}' or one of '{p / 'checkpoints'}/*')"
        missing = "config.json" if weights else "*.safetensors weights"
        raise MergeError(f"{role} '{p}' has no {missing}{hint}")
    return Source(p, "full", weights, config=json.loads((p / "config.json").read_text()))


def _read_adapter(p: Path) -> LoraAdapter:
    """The LoRA modules of a PEFT adapter, refusing the variants a plain W + scale B A does not describe."""
    from safetensors import safe_open

    cfg = json.loads((p / "adapter_config.json").read_text())
    unsupported = {
        "peft_type": cfg.get("peft_type", "LORA") != "LORA",
        "use_dora": bool(cfg.get("use_dora")),
        "fan_in_fan_out": bool(cfg.get("fan_in_fan_out")),
        "bias": cfg.get("bias", "none") != "none" or bool(cfg.get("lora_bias")),
        "modules_to_save": bool(cfg.get("modules_to_save")),
        "alpha_pattern": bool(cfg.get("alpha_pattern")),
        "trainable_token_indices": bool(cfg.get("trainable_token_indices")),
        "layer_replication": bool(cfg.get("layer_replication")),
    }
    bad = [k for k, v in unsupported.items() if v]
    if bad:
        raise MergeError(
            f"LoRA adapter '{p}': {bad[0]}={cfg.get(bad[0])!r} is not supported (plain LoRA only)"
        )
    if not (p / "adapter_model.safetensors").exists():
        raise MergeError(f"LoRA adapter '{p}' has no adapter_model.safetensors")
    with safe_open(str(p / "adapter_model.safetensors"), framework="pt") as f:
        keys = list(f.keys())
        ranks = {k: f.get_slice(k).get_shape()[0] for k in keys if k.endswith(_LORA_A)}
    modules: dict[str, tuple[str, str, float]] = {}
    for k in keys:
        if not (k.endswith(_LORA_A) or k.endswith(_LORA_B)) or not k.startswith(_ADAPTER_PREFIX):
            raise MergeError(
                f"LoRA adapter '{p}': tensor '{k}' is not a lora_A/lora_B weight (not supported)"
            )
        if k.endswith(_LORA_B):
            continue
        module = k[len(_ADAPTER_PREFIX) : -len(_LORA_A)]
        b = f"{_ADAPTER_PREFIX}{module}{_LORA_B}"
        if b not in keys:
            raise MergeError(f"LoRA adapter '{p}': '{k}' has no matching '{b}'")
        r = ranks[k]
        scale = cfg["lora_alpha"] / (math.sqrt(r) if cfg.get("use_rslora") else r)
        disk = next(iter(to_disk_names({f"{module}.weight": torch.empty(0)})))
        modules[disk] = (k, b, scale)
    return LoraAdapter(modules)


def config_difference(a: Any, b: Any, key: str = "") -> str | None:
    """The first key path where two config.json values differ (volatile keys ignored), or None."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k in VOLATILE_CONFIG_KEYS:
                continue
            d = config_difference(a.get(k), b.get(k), f"{key}.{k}" if key else k)
            if d:
                return d
        return None
    return None if a == b else key


def tokenizer_hashes(d: Path) -> dict[str, str]:
    return {n: hashlib.sha256((d / n).read_bytes()).hexdigest() for n in TOKENIZER_FILES if (d / n).exists()}


def read_tensor(
    src: Source, name: str, base: Source | None, dtype: torch.dtype, rows: tuple[int, int] | None = None
) -> torch.Tensor:
    """Tensor `name` (disk name) of `src` in `dtype` (rows i..j-1 only, if given); for an adapter, the
    base's with (alpha / r) B A added."""
    if src.kind == "full":
        return src.reader.get(name, rows).to(dtype)
    assert base is not None and src.lora is not None
    w = base.reader.get(name, rows).to(dtype)
    if name in src.lora.modules:
        a_key, b_key, scale = src.lora.modules[name]
        a, b = src.reader.get(a_key).to(dtype), src.reader.get(b_key, rows).to(dtype)  # (r, in), (rows, r)
        w.add_(b @ a, alpha=scale)  # W + (alpha / r) B A, (rows, in)
    return w
