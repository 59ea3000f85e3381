"""Merge checkpoints tensor by tensor: theta = sum_k alpha_k theta_k (and the other rules in methods.py).

Everything is checked before any tensor is read: the weights, the output directory, every input's
config (architecture and sizes), tokenizer files and tensor names, shapes and dtypes (from the
safetensors headers only). Then each output tensor is computed from one tensor per input (float32, or
float64 for float64 weights), in row blocks of ~16 MB for the elementwise rules (linear, task arithmetic;
SLERP needs whole tensors), and written straight into its shard, whose header was computed up front:
peak memory is a few blocks (SLERP: a few of the largest tensor), whatever the model size. The output keeps the shard layout of the base
(or the first checkpoint), is written to a temporary sibling directory and renamed into place when done,
and its config.json carries the merge record under "agentrl_merge".
"""

from __future__ import annotations

import json
import math
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from agentrl.merge.inputs import MergeError, Source, config_difference, read_tensor, resolve, tokenizer_hashes
from agentrl.merge.methods import ELEMENTWISE, METHODS, NEEDS_BASE, TWO_ONLY
from agentrl.merge.st_io import DTYPES, ShardWriter

WEIGHT_SUM_TOLERANCE = 1e-6
BLOCK_BYTES = 16 << 20  # elementwise rules read large tensors in row blocks of about this many bytes
# files of an input directory that are not copied to the output (weights, training state, markers)
_SKIP_SUFFIXES = (".safetensors", ".safetensors.index.json", ".pt", ".bin")
_SKIP_NAMES = {"state.json", "COMPLETE", "adapter_config.json", "README.md", "config.json"}


@dataclass
class MergeSpec:
    """One merge: checkpoints with their weights alpha_k, the rule, the output directory."""

    checkpoints: list[Path]
    weights: list[float]
    out: Path
    base: Path | None = None
    method: str = "linear"
    allow_extrapolation: bool = False


@dataclass
class Plan:
    """A checked merge, ready to run: opened inputs and the output shards' tensors, in order."""

    spec: MergeSpec
    sources: list[Source]
    base: Source | None
    reference: Source  # whose config, layout and processor files the output takes
    shards: list[tuple[str, list[tuple[str, str, tuple[int, ...]]]]] = field(default_factory=list)

    def close(self) -> None:
        for s in [*self.sources, *([self.base] if self.base else [])]:
            s.reader.close()


def check_weights(weights: list[float], n: int, method: str, allow_extrapolation: bool) -> None:
    if method not in METHODS:
        raise MergeError(f"method: unknown '{method}'; allowed: {', '.join(METHODS)}")
    if len(weights) != n:
        raise MergeError(f"weights: {len(weights)} given for {n} checkpoints")
    if method in TWO_ONLY and n != 2:
        raise MergeError(f"method {method}: needs exactly 2 checkpoints, got {n}")
    if any(not math.isfinite(w) for w in weights):
        raise MergeError(f"weights: must be finite numbers, got {weights}")
    total = sum(weights)
    if method in TWO_ONLY and abs(total - 1) > WEIGHT_SUM_TOLERANCE:
        raise MergeError(f"method {method}: the two weights are 1 - t and t and must sum to 1, got {weights}")
    if allow_extrapolation:
        return
    if any(w < 0 for w in weights):
        raise MergeError(f"weights: must be >= 0 (got {weights}); pass --allow-extrapolation to allow it")
    if abs(total - 1) > WEIGHT_SUM_TOLERANCE:
        raise MergeError(
            f"weights: must sum to 1 (got {total:g} from {weights}); pass --allow-extrapolation to allow it"
        )


def plan(spec: MergeSpec) -> Plan:
    """Every check, before any work; raises MergeError naming the first problem."""
    check_weights(spec.weights, len(spec.checkpoints), spec.method, spec.allow_extrapolation)
    if spec.method in NEEDS_BASE and spec.base is None:
        raise MergeError(
            f"method {spec.method}: needs --base (the model the checkpoints were fine-tuned from)"
        )
    _check_output(spec)
    base = resolve(spec.base, "base") if spec.base is not None else None
    if base is not None and base.kind != "full":
        raise MergeError(f"base '{base.path}' is a LoRA adapter; the base must be a full checkpoint")
    sources = [resolve(p) for p in spec.checkpoints]
    lora = next((s for s in sources if s.kind == "lora"), None)
    if lora is not None and base is None:
        raise MergeError(f"LoRA adapter '{lora.path}' needs --base (the model it was trained on)")
    full = [s for s in ([base] if base else []) + sources if s.kind == "full"]
    ref = full[0]
    for s in full[1:]:
        _check_same_config(ref, s)
    _check_same_tokenizer(ref, [s for s in full[1:]] + [s for s in sources if s.kind == "lora"])
    for s in full[1:]:
        _check_same_tensors(ref, s)
    for s in sources:
        if s.kind == "lora":
            _check_adapter_shapes(ref, s)
    p = Plan(spec, sources, base, ref)
    p.shards = [(f.name, [(n, ref.reader.index[n].dtype, ref.reader.index[n].shape) for n in names])
                for f, names in ref.reader.shards.items()]  # fmt: skip
    return p


def _check_output(spec: MergeSpec) -> None:
    out = spec.out.resolve()
    for p in [*spec.checkpoints, *([spec.base] if spec.base else [])]:
        if out == Path(p).resolve() or Path(p).resolve() in out.parents:
            raise MergeError(f"output '{spec.out}' is (inside) input '{p}'")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise MergeError(f"output '{spec.out}' exists and is not an empty directory")


def _check_same_config(ref: Source, s: Source) -> None:
    key = config_difference(ref.config, s.config)
    if key is not None:

        def get(c: Any) -> Any:
            for part in key.split("."):
                c = c.get(part) if isinstance(c, dict) else None
            return c

        raise MergeError(
            f"architecture: config '{key}' is {get(s.config)!r} in '{s.path}' but {get(ref.config)!r} "
            f"in '{ref.path}' (not the same model)"
        )


def _check_same_tokenizer(ref: Source, others: list[Source]) -> None:
    want = tokenizer_hashes(ref.path)
    for s in others:
        got = tokenizer_hashes(s.path)
        if s.kind == "lora" and not got:
            continue  # an adapter uses the base's tokenizer
        for name in sorted(set(want) | set(got)):
            if want.get(name) != got.get(name):
                how = "is missing" if name not in got else "differs"
                raise MergeError(
                    f"tokenizer: '{name}' {how} in '{s.path}' (compared with '{ref.path}'): "
                    "checkpoints with different tokenizers cannot be merged"
                )


def _check_same_tensors(ref: Source, s: Source) -> None:
    a, b = ref.reader.index, s.reader.index
    for name in sorted(set(a) ^ set(b)):
        where, other = (ref, s) if name in a else (s, ref)
        raise MergeError(f"tensor '{name}' is in '{where.path}' but not in '{other.path}'")
    for name, info in a.items():
        o = b[name]
        if (info.shape, info.dtype) != (o.shape, o.dtype):
            raise MergeError(
                f"tensor '{name}': {o.dtype} {list(o.shape)} in '{s.path}' but {info.dtype} {list(info.shape)} "
                f"in '{ref.path}'"
            )


def _check_adapter_shapes(ref: Source, s: Source) -> None:
    assert s.lora is not None
    for name, (a_key, b_key, _) in s.lora.modules.items():
        if name not in ref.reader.index:
            raise MergeError(
                f"LoRA adapter '{s.path}': target tensor '{name}' is not in the base '{ref.path}'"
            )
        out_f, in_f = (list(ref.reader.index[name].shape) + [0, 0])[:2]
        a, b = s.reader.index[a_key].shape, s.reader.index[b_key].shape
        if len(a) != 2 or len(b) != 2 or a[1] != in_f or b[0] != out_f or a[0] != b[1]:
            raise MergeError(
                f"LoRA adapter '{s.path}': tensor '{name}' is {list(ref.reader.index[name].shape)} in the base, "
                f"the adapter's B A is {list(b)} x {list(a)}"
            )


def merge(spec: MergeSpec, on_progress: Callable[[int, int], None] | None = None) -> Path:
    """Check, then merge into `spec.out`; `on_progress(done_tensors, total_tensors)` after each tensor."""
    p = plan(spec)
    try:
        return _run(p, on_progress)
    finally:
        p.close()


def merge_record(p: Plan) -> dict[str, Any]:
    """What went in: inputs with their weights and sha256, the base, the rule."""
    from agentrl import __version__

    s = p.spec
    return {
        "method": s.method,
        "inputs": [
            {"path": str(src.path.resolve()), "kind": src.kind, "weight": w, "sha256": src.sha256()}
            for src, w in zip(p.sources, s.weights)
        ],
        "base": {"path": str(p.base.path.resolve()), "sha256": p.base.sha256()} if p.base else None,
        "allow_extrapolation": s.allow_extrapolation,
        "agentrl_version": __version__,
    }


def _run(p: Plan, on_progress: Callable[[int, int], None] | None) -> Path:
    spec, fn = p.spec, METHODS[p.spec.method]
    out = spec.out
    tmp = out.parent / f".{out.name}.merging-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        config = dict(p.reference.config or {})
        config["agentrl_merge"] = merge_record(p)
        for f in p.reference.path.iterdir():
            if f.is_file() and f.name not in _SKIP_NAMES and not f.name.endswith(_SKIP_SUFFIXES):
                shutil.copy2(f, tmp / f.name)
        (tmp / "config.json").write_text(json.dumps(config, indent=2) + "\n")
        total, done, weight_map = sum(len(t) for _, t in p.shards), 0, {}
        for fname, tensors in p.shards:
            writer = ShardWriter(tmp / fname, tensors, {"format": "pt"})
            try:
                for name, dtype, shape in tensors:
                    for block in _row_blocks(p, shape, DTYPES[dtype]):
                        writer.write(name, _merged_tensor(p, fn, name, DTYPES[dtype], block))
                    weight_map[name] = fname
                    done += 1
                    if on_progress:
                        on_progress(done, total)
            except BaseException:
                writer.abort()
                raise
            writer.close()
        if len(p.shards) > 1:
            size = sum((tmp / f).stat().st_size for f, _ in p.shards)
            index = {"metadata": {"total_size": size}, "weight_map": weight_map}
            (tmp / "model.safetensors.index.json").write_text(json.dumps(index, indent=2) + "\n")
        if out.exists():
            out.rmdir()  # empty (checked in plan)
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _row_blocks(p: Plan, shape: tuple[int, ...], dtype: torch.dtype) -> list[tuple[int, int] | None]:
    """Row ranges of the first dimension, each about BLOCK_BYTES in the compute dtype, for elementwise
    rules; None (the whole tensor) for rules that need it (SLERP's norms) and for small tensors."""
    if p.spec.method not in ELEMENTWISE or not shape or not dtype.is_floating_point:
        return [None]
    rows = max(1, BLOCK_BYTES // (math.prod(shape[1:]) * 8))  # 8: float64 at most
    if rows >= shape[0]:
        return [None]
    return [(i, min(i + rows, shape[0])) for i in range(0, shape[0], rows)]


def _merged_tensor(
    p: Plan, fn: Any, name: str, dtype: torch.dtype, rows: tuple[int, int] | None = None
) -> torch.Tensor:
    """An output tensor (or its rows i..j-1): the rule over the inputs' tensors in float32 (float64 if
    stored so), cast back."""
    if not (dtype.is_floating_point):
        values = [read_tensor(s, name, p.base, dtype, rows) for s in p.sources]
        if any(not torch.equal(values[0], v) for v in values[1:]):
            raise MergeError(f"tensor '{name}': a non-float ({dtype}) tensor differs between the checkpoints")
        return values[0]
    compute = torch.float64 if dtype == torch.float64 else torch.float32
    thetas = [read_tensor(s, name, p.base, compute, rows) for s in p.sources]
    need_base = p.base is not None and p.spec.method in NEEDS_BASE
    base = p.base.reader.get(name, rows).to(compute) if need_base else None  # type: ignore[union-attr]
    return fn(thetas, p.spec.weights, base).to(dtype)
