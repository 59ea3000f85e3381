"""Peak memory of `agentrl merge` (streaming, tensor by tensor) against an in-memory merge, on a model too
large for the memory the merge is given.

    python benchmarks/merge_memory.py [--hidden 2048 --layers 24] [--budget-gb 1.0] [--keep]

Two random-weight checkpoints of a Qwen2.5-VL config of a few GB (bfloat16, sharded ~1 GB as transformers
shards) are written under benchmarks/work/merge_memory/. Each merge runs in a child process:

1. streaming (`agentrl.merge.streaming`) with its address space capped at the interpreter's own size after
   imports + `--budget-gb` (RLIMIT_AS; the reader uses no memory maps, so the cap bounds what it reads),
2. in memory (every shard of both inputs loaded with safetensors, merged, saved: what a naive merge or
   `safetensors.torch.load_file` of the whole model does) under the same cap: expected to fail,
3. in memory without the cap, to measure what it needs.

Peak memory is the child's peak resident set (VmHWM; ru_maxrss would carry the parent's over fork+exec)
minus its resident set after imports. Writes
benchmarks/results/merge_memory.json; top-level "ratio" = in-memory peak / streaming peak (higher is
better: how many times less memory streaming needs). A few output tensors are checked against a hand
computation. The inputs fit this machine's RAM; the cap is what makes the model "larger than memory".
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, WORK, machine, status_kb  # noqa: E402

ROOT = WORK / "merge_memory"
SHARD_BYTES = 1 << 30
ALPHAS = (0.3, 0.7)


def rss_kb() -> int:
    return status_kb("VmRSS")


def vm_size_bytes() -> int:
    return status_kb("VmSize") * 1024


def write_random_checkpoint(out: Path, hidden: int, layers: int, seed: int) -> int:
    """A Qwen2.5-VL checkpoint with random bf16 weights written tensor by tensor (never whole in memory);
    returns its weight bytes."""
    import torch
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    from agentrl.merge.st_io import ShardWriter
    from agentrl.models.weights import to_disk_names

    want = {"hidden": hidden, "layers": layers, "seed": seed}
    if (out / "done").exists() and json.loads((out / "done").read_text())["config"] == want:
        return json.loads((out / "done").read_text())["bytes"]
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    text = dict(vocab_size=32000, hidden_size=hidden, intermediate_size=int(hidden * 2.6875), num_hidden_layers=layers,
                num_attention_heads=hidden // 128, num_key_value_heads=2, tie_word_embeddings=True)  # fmt: skip
    vision = dict(depth=4, hidden_size=640, intermediate_size=1280, num_heads=10, out_hidden_size=hidden)
    config = Qwen2_5_VLConfig(text_config=text, vision_config=vision, tie_word_embeddings=True)
    with torch.device("meta"):
        model = Qwen2_5_VLForConditionalGeneration(config)
    shapes = to_disk_names({k: v for k, v in model.state_dict().items() if k != "lm_head.weight"})
    config.save_pretrained(out)
    shards, cur, size = [], [], 0
    for name, t in shapes.items():  # consecutive tensors into ~1 GB shards
        n = t.numel() * 2
        if cur and size + n > SHARD_BYTES:
            shards.append(cur)
            cur, size = [], 0
        cur.append((name, "BF16", tuple(t.shape)))
        size += n
    shards.append(cur)
    g = torch.Generator().manual_seed(seed)
    total, weight_map = 0, {}
    for i, specs in enumerate(shards):
        fname = f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors"
        w = ShardWriter(out / fname, specs, {"format": "pt"})
        for name, _, shape in specs:
            w.write(name, (0.02 * torch.randn(shape, generator=g)).bfloat16())
            weight_map[name] = fname
        w.close()
        total += (out / fname).stat().st_size
    (out / "model.safetensors.index.json").write_text(
        json.dumps({"metadata": {"total_size": total}, "weight_map": weight_map})
    )
    (out / "done").write_text(json.dumps({"config": want, "bytes": total}))
    return total


def child(mode: str, a: Path, b: Path, out: Path, budget_gb: float | None) -> None:
    """Runs one merge and prints a JSON line: ok, error, seconds, peak (ru_maxrss - RSS after imports)."""
    import torch  # noqa: F401  (imported before measuring the baseline)
    from safetensors.torch import load_file, save_file

    from agentrl.merge import MergeSpec, merge

    torch.set_num_threads(2)
    shutil.rmtree(out, ignore_errors=True)
    base_rss = rss_kb()
    if budget_gb is not None:
        cap = vm_size_bytes() + int(budget_gb * (1 << 30))
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    t0 = time.perf_counter()
    result = {"mode": mode, "budget_gb": budget_gb, "ok": True, "error": None}
    try:
        if mode == "streaming":
            merge(MergeSpec([a, b], list(ALPHAS), out))
        else:
            out.mkdir(parents=True)
            sa = {k: v for f in sorted(a.glob("*.safetensors")) for k, v in load_file(str(f)).items()}
            sb = {k: v for f in sorted(b.glob("*.safetensors")) for k, v in load_file(str(f)).items()}
            merged = {k: (ALPHAS[0] * sa[k].float() + ALPHAS[1] * sb[k].float()).bfloat16() for k in sa}
            save_file(merged, str(out / "model.safetensors"), metadata={"format": "pt"})
    except (MemoryError, RuntimeError, OSError) as e:
        result.update(ok=False, error=f"{type(e).__name__}: {str(e).splitlines()[0][:160]}")
    result["seconds"] = round(time.perf_counter() - t0, 1)
    result["peak_rss_mb"] = round((status_kb("VmHWM") - base_rss) / 1024, 1)  # ru_maxrss survives exec
    result["rss_after_imports_mb"] = round(base_rss / 1024, 1)
    print("RESULT " + json.dumps(result), flush=True)


def run_child(mode: str, a: Path, b: Path, out: Path, budget_gb: float | None) -> dict:
    cmd = [sys.executable, __file__, "--child", mode, "--a", str(a), "--b", str(b), "--out", str(out)]
    if budget_gb is not None:
        cmd += ["--budget-gb", str(budget_gb)]
    env = {**os.environ, "MALLOC_ARENA_MAX": "2", "OMP_NUM_THREADS": "2"}
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    line = next((x for x in p.stdout.splitlines() if x.startswith("RESULT ")), None)
    if line is None:  # killed, or died in C++ on a failed allocation
        return {
            "mode": mode,
            "budget_gb": budget_gb,
            "ok": False,
            "error": f"exit {p.returncode}: {p.stderr.strip().splitlines()[-1:]}",
        }
    return json.loads(line[len("RESULT ") :])


def check_output(a: Path, b: Path, out: Path, names: int = 4) -> float:
    """Max |merged - (alpha_a a + alpha_b b)| over a few tensors, compared in bf16 units."""
    from safetensors import safe_open

    def weight_map(d: Path) -> dict[str, str]:
        if (d / "model.safetensors.index.json").exists():
            return json.loads((d / "model.safetensors.index.json").read_text())["weight_map"]
        with safe_open(str(d / "model.safetensors"), "pt") as f:
            return dict.fromkeys(f.keys(), "model.safetensors")

    def get(d: Path, name: str):
        with safe_open(str(d / weight_map(d)[name]), "pt") as f:
            return f.get_tensor(name).float()

    idx = weight_map(out)
    worst = 0.0
    for name in list(idx)[:: max(1, len(idx) // names)][:names]:
        want = (ALPHAS[0] * get(a, name) + ALPHAS[1] * get(b, name)).bfloat16().float()
        worst = max(worst, float((get(out, name) - want).abs().max()))
    return worst


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hidden", type=int, default=2048)
    ap.add_argument("--layers", type=int, default=24)
    ap.add_argument("--budget-gb", type=float, default=1.0)
    ap.add_argument("--keep", action="store_true", help="keep the checkpoints under benchmarks/work/")
    ap.add_argument("--child", default=None)
    ap.add_argument("--a", type=Path)
    ap.add_argument("--b", type=Path)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.a, args.b, args.out, args.budget_gb if "--budget-gb" in sys.argv else None)
        return
    t0 = time.perf_counter()
    a, b = ROOT / "a", ROOT / "b"
    size = write_random_checkpoint(a, args.hidden, args.layers, seed=1)
    write_random_checkpoint(b, args.hidden, args.layers, seed=2)
    print(f"inputs: 2 x {size / 2**30:.2f} GiB ({time.perf_counter() - t0:.0f}s)", flush=True)
    runs = {
        "streaming_capped": run_child("streaming", a, b, ROOT / "out_stream", args.budget_gb),
        "in_memory_capped": run_child("in_memory", a, b, ROOT / "out_mem_capped", args.budget_gb),
    }
    print(json.dumps(runs, indent=1), flush=True)
    max_err = check_output(a, b, ROOT / "out_stream") if runs["streaming_capped"]["ok"] else None
    runs["in_memory_uncapped"] = run_child("in_memory", a, b, ROOT / "out_mem", None)
    print(json.dumps(runs["in_memory_uncapped"]), flush=True)
    stream, mem = runs["streaming_capped"], runs["in_memory_uncapped"]
    ratio = round(mem["peak_rss_mb"] / stream["peak_rss_mb"], 2) if stream["ok"] and mem["ok"] else None
    result = {
        "benchmark": "merge_memory",
        "machine": machine(),
        "model": {
            "hidden": args.hidden,
            "layers": args.layers,
            "dtype": "bfloat16",
            "bytes_per_input": size,
            "inputs": 2,
            "shards_per_input": len(list(a.glob("*.safetensors"))),
        },  # fmt: skip
        "budget_gb_above_imports": args.budget_gb,
        "runs": runs,
        "max_abs_error_vs_hand_bf16": max_err,
        "ratio": ratio,
        "ratio_means": "in-memory merge peak RSS / streaming merge peak RSS (higher is better)",
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "merge_memory.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    for d in ("out_stream", "out_mem_capped", "out_mem"):
        shutil.rmtree(ROOT / d, ignore_errors=True)
    if not args.keep:
        shutil.rmtree(ROOT, ignore_errors=True)


if __name__ == "__main__":
    main()
