"""The learner's training throughput beside a bare transformers loop: same model, same batches, one run.

On a GPU: a Qwen2.5-VL-architecture model with random weights (text hidden 1536 x 28 layers, 12 heads, 2 KV
heads, intermediate 8960; ViT 8 layers x 1024; ~1.5B parameters), the tiny tokenizer, 32 grounding samples a
step on synthetic 1120x672 screens (960 image tokens + ~40 text tokens each). On a CPU: the tiny preset on
160x210 screens, so the script runs anywhere (the figures then only show that the loops work).

Loops (each: one warm-up step, then timed steps on the same batches; the image processor's work is done
before timing for the bare loop and cached after the warm-up for agentrl, so neither pays it when timed):

- bare      the peer: transformers' model, fp32 parameters + bf16 autocast, fused AdamW, padded
            micro-batches of 4, loss from `labels` (as a user writes it by hand);
- agentrl   `LearnerWorker.train_step`, full fine-tuning with its defaults: bf16 parameters + fp32 master
            weights, packed padding-free micro-batches by a token budget, vision attention one call per
            window length;
- frozen    the same with `freeze_vision` (the vision tower's features computed once per screenshot);
- agentrl_plain  the learner with the fast paths off (fp32 + autocast, padded micro-batches of 4, transformers'
            vision attention), as it was before; run last, only if time is left.

Reported per loop: tokens/s, MFU (6 x parameters x tokens, the vision tower counted per patch and only when
it is trained; bf16 dense peak 989 TFLOP/s on H100/H200), peak memory, and the vision tower's share of a step
(its forward + backward timed alone on the same micro-batches). "ratio" = agentrl / bare tokens/s.

    python benchmarks/learner_gpu.py [--budget-s 200] [--out benchmarks/results/learner_gpu.json]

On the lent GPU machine (no ray, gymnasium, playwright or pydantic there; pydantic and transformers 5.19
travel as wheels in the git-ignored .whl/, see scripts/gpu_check.py):

    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
      .whl/*.whl && PYTHONPATH=/tmp/site:$PWD python3 benchmarks/learner_gpu.py --out $OUT/learner_gpu.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PEAK_BF16 = 989e12  # H100/H200 SXM dense bf16 FLOP/s


sys.path.insert(0, str(ROOT))
import torch  # noqa: E402

import scripts.gpu_check  # noqa: E402, F401  (registers `envs` as bare packages: no gymnasium or Playwright needed)

CUDA = torch.cuda.is_available()
DEVICE = torch.device("cuda" if CUDA else "cpu")


def sync() -> None:
    if CUDA:
        torch.cuda.synchronize()


def peak_gib() -> float:
    return round(torch.cuda.max_memory_allocated() / 2**30, 2) if CUDA else 0.0


def reset_peak() -> None:
    if CUDA:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


# -- model and data ------------------------------------------------------------------------------------------
def build_model(tmp: Path) -> Path:
    from agentrl.models import factory

    if CUDA:  # head_dim 128 -> mrope_section sums to 64; max_pixels admits 1120x672 (960 tokens)
        preset = factory.Preset(
            1536, 8960, 28, 12, 2, 1024, 3584, 8, 16, 2048, 4 * 784, 1024 * 784, (16, 24, 24)
        )
    else:
        preset = factory.PRESETS["tiny"]
    factory.PRESETS["learner_gpu"] = preset
    return factory.init_model("learner_gpu", tmp / "model", seed=0)


def make_samples(model_dir: Path, n: int) -> list[Any]:
    """n grounding samples, one per synthetic screen (so n distinct screenshots a step)."""
    from agentrl.data.samples import grounding_samples
    from agentrl.models.loading import load_processor

    size = {"height": 672, "width": 1120} if CUDA else {}
    screens = scripts.gpu_check.synthetic_screens(n, seed=3, **size)
    tok = load_processor(model_dir).tokenizer
    return list(grounding_samples(screens, tok, seed=3, per_screen=1))


def flops_per_step(model: Any, tokens: int, patches: int, vision_trained: bool) -> float:
    """6 N D: the language model per token, the vision tower per patch (forward only when frozen and cached:
    counted as 0, since a cached screenshot costs nothing)."""
    core = next(m for m in model.modules() if type(m).__name__ == "Qwen2_5_VLModel")
    n_vit = sum(p.numel() for p in core.visual.parameters())
    n_lm = sum(p.numel() for p in model.parameters()) - n_vit
    return 6.0 * n_lm * tokens + (6.0 * n_vit * patches if vision_trained else 0.0)


def vit_seconds(core: Any, batches: list[tuple[torch.Tensor, torch.Tensor]], dtype: torch.dtype) -> float:
    """The vision tower's forward + backward alone over a step's micro-batches (its share of the step)."""
    sync()
    t0 = time.perf_counter()
    for pixels, grid in batches:
        with torch.autocast(DEVICE.type, dtype=torch.bfloat16, enabled=CUDA):
            out = core.visual(pixels.to(DEVICE, dtype), grid_thw=grid.to(DEVICE)).pooler_output
        out.float().square().mean().backward()
    sync()
    core.visual.zero_grad(set_to_none=True)
    return time.perf_counter() - t0


# -- the bare loop (the peer) ----------------------------------------------------------------------------------
def run_bare(out: dict[str, Any], model_dir: Path, samples: list[Any], steps: int, micro: int) -> None:
    from agentrl.models.loading import load_model, load_processor
    from agentrl.train.batch import collate, expand_sample

    reset_peak()
    processor = load_processor(model_dir)
    model = load_model(str(model_dir), dtype="float32").to(DEVICE).train()
    image_id, video_id = model.config.image_token_id, model.config.video_token_id
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5, fused=CUDA)
    expanded = [expand_sample(s, processor, image_id) for s in samples]  # the data loader's work, untimed
    batches = [
        collate(expanded[i : i + micro], 0, image_id, video_id) for i in range(0, len(expanded), micro)
    ]
    tokens = sum(b.num_tokens for b in batches)
    patches = sum(int(b.image_grid_thw.prod(-1).sum()) for b in batches if b.image_grid_thw is not None)

    def step() -> float:
        for b in batches:
            labels = b.input_ids.masked_fill(b.loss_mask == 0, -100)
            with torch.autocast(DEVICE.type, dtype=torch.bfloat16, enabled=CUDA):
                loss = model(**b.model_inputs(DEVICE, torch.float32), labels=labels.to(DEVICE)).loss
            (loss / len(batches)).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return float(loss)

    _timed(out, step, steps, tokens, flops_per_step(model, tokens, patches, True))
    out["peak_gib"] = peak_gib()
    core = next(m for m in model.modules() if type(m).__name__ == "Qwen2_5_VLModel")
    vit = vit_seconds(core, [(b.pixel_values, b.image_grid_thw) for b in batches], torch.float32)
    out["vit_share"] = round(vit / out["step_s"], 3)
    out.update(micro_batch=micro, precision="fp32 params + bf16 autocast", tokens_per_step=tokens)


# -- agentrl's learner ------------------------------------------------------------------------------------------
def run_agentrl(out: dict[str, Any], model_dir: Path, samples: list[Any], steps: int, **cfg: Any) -> None:
    from agentrl.train.config import LearnerConfig, OptimConfig
    from agentrl.train.worker import LearnerWorker

    reset_peak()
    micro = cfg.pop("micro_batch_size", 4)
    lc = LearnerConfig(local=True, num_gpus_per_worker=1 if CUDA else 0, **cfg)
    worker = LearnerWorker(str(model_dir), lc, OptimConfig(lr=1e-5, warmup_steps=0), total_steps=steps + 1)
    info = worker.setup()
    total = float(sum(s.num_trainable for s in samples))
    metrics: dict[str, float] = {}

    def step() -> float:
        metrics.update(worker.train_step(samples, total, micro))
        return metrics["nll_sum"] / metrics["tokens"]

    expanded = worker._expand(samples)  # counts for FLOPs (and fills the screenshot cache, as a warm-up)
    tokens = sum(len(e.ids) for e in expanded)
    patches = sum(int(e.grid.prod(-1).sum()) for e in expanded if e.grid is not None)
    flops = flops_per_step(worker.model, tokens, patches, not lc.freeze_vision)
    _timed(out, step, steps, tokens, flops)
    out["peak_gib"] = peak_gib()
    groups = worker._groups(expanded, micro)
    out["micro_batches"] = len(groups)
    if not lc.freeze_vision:
        batches = [worker._collate(g) for g in groups]
        dtype = torch.float32 if worker._autocast else worker.dtype
        vit = vit_seconds(worker.core, [(b.pixel_values, b.image_grid_thw) for b in batches], dtype)
        out["vit_share"] = round(vit / out["step_s"], 3)
    else:
        out["vit_share"] = 0.0
        out["vision_cache"] = {"hits": worker.vision.hits, "misses": worker.vision.misses}
    out.update(dtype=info["dtype"], trainable_parameters=info["trainable_parameters"], tokens_per_step=tokens,
               config={k: v for k, v in lc.model_dump().items() if k in _SHOWN})  # fmt: skip


_SHOWN = (
    "master_weights",
    "freeze_vision",
    "fast_vision_attention",
    "packing",
    "micro_batch_tokens",
    "precision",
)


def _timed(out: dict[str, Any], step: Any, steps: int, tokens: int, flops: float) -> None:
    losses = [step()]  # warm-up: allocator, kernels, caches
    sync()
    t0 = time.perf_counter()
    for _ in range(steps):
        losses.append(step())
    sync()
    dt = (time.perf_counter() - t0) / steps
    out.update(step_s=round(dt, 3), tokens_per_s=round(tokens / dt, 1), losses=[round(x, 4) for x in losses])
    out["mfu"] = round(flops / dt / PEAK_BF16, 4) if CUDA else None


# -- main ---------------------------------------------------------------------------------------------------------
def environment() -> dict[str, Any]:
    import transformers

    env = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
    }
    if CUDA:
        env["gpu"] = torch.cuda.get_device_name(0)
        env["gpu_memory_gib"] = round(torch.cuda.get_device_properties(0).total_memory / 2**30, 1)
    env["machine"] = f"{platform.machine()}, {os.cpu_count()} cores" + (
        f", {env['gpu']}" if CUDA else ", no GPU"
    )
    return env


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--budget-s", type=float, default=200.0, help="skip the remaining loops past this")
    ap.add_argument("--steps", type=int, default=3 if CUDA else 2)
    ap.add_argument("--samples", type=int, default=32 if CUDA else 8)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "learner_gpu.json"))
    args = ap.parse_args()
    t_start = time.perf_counter()
    report: dict[str, Any] = {"environment": environment(), "loops": {}}
    budget_tokens = 16384 if CUDA else 2048
    loops: list[tuple[str, Any, dict[str, Any]]] = [
        ("bare", run_bare, {"micro": 4}),
        ("agentrl", run_agentrl, {"micro_batch_tokens": budget_tokens}),
        ("frozen", run_agentrl, {"micro_batch_tokens": budget_tokens, "freeze_vision": True}),
        ("agentrl_plain", run_agentrl, {"micro_batch_size": 4, "master_weights": False, "packing": False,
                                        "fast_vision_attention": False}),
    ]  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        model_dir = build_model(Path(tmp))
        samples = make_samples(model_dir, args.samples)
        report["setup_s"] = round(time.perf_counter() - t0, 1)
        report["samples_per_step"] = len(samples)
        for name, fn, kw in loops:
            if time.perf_counter() - t_start > args.budget_s:
                report["loops"][name] = {"status": "skipped: time budget"}
                continue
            out: dict[str, Any] = {}
            report["loops"][name] = out
            t0 = time.perf_counter()
            try:
                fn(out, model_dir, samples, args.steps, **kw)
                out["status"] = "ok"
            except torch.OutOfMemoryError as e:
                out["status"] = f"out of memory: {str(e)[:200]}"
            except Exception as e:  # noqa: BLE001 - one loop's failure is recorded, the others still run
                out["status"] = f"error: {type(e).__name__}: {e}"
                out["traceback"] = traceback.format_exc()[-2000:]
            out["wall_s"] = round(time.perf_counter() - t0, 1)
            print(name, json.dumps({k: v for k, v in out.items() if k != "traceback"}), flush=True)
            reset_peak()
    loops_ok = {k: v for k, v in report["loops"].items() if v.get("status") == "ok"}
    bare = loops_ok.get("bare", {}).get("tokens_per_s")
    for name in ("agentrl", "frozen", "agentrl_plain"):
        if bare and name in loops_ok:
            report[f"{name}_over_bare"] = round(loops_ok[name]["tokens_per_s"] / bare, 3)
    report["ratio"] = report.get("agentrl_over_bare")
    report["targets"] = {"agentrl_over_bare": 1.5, "frozen_over_bare": 3.0, "mfu": 0.35}
    report["wall_s"] = round(time.perf_counter() - t_start, 1)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2))
    print(json.dumps({k: v for k, v in report.items() if k != "loops"}, indent=2))
    return (
        0 if all(v.get("status", "").startswith(("ok", "skipped")) for v in report["loops"].values()) else 1
    )


if __name__ == "__main__":
    sys.exit(main())
