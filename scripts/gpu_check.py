"""GPU check of agentrl's learner and HF engine: one prepared script for a lent GPU machine (< 4 min on an H200).

Checks, each recorded as "ok" or its error, with its numbers, in a JSON report:

1. model       the tiny Qwen2.5-VL agentrl makes itself (`init_model("tiny")`, as tests/conftest.py does).
2. learner     `LearnerWorker`, one GPU, no process group, precision auto (bf16 on CUDA): SFT steps on one
               batch of grounding samples; loss finite and decreasing, tokens/s, peak CUDA memory.
3. dist_init   a torch.distributed group of world size 1 (NCCL on CUDA, gloo on CPU) and an all_reduce;
   fsdp2       in that group, the same learner under FSDP2 (`fully_shard` over one rank, bf16 params);
   fsdp2_frozen_vision  and with `freeze_vision` (the tower unsharded, untouched, each screenshot once);
   ddp_lora    and under DDP with LoRA.
4. engine_*    `HFEngine` on the device (bf16, then fp32): concurrent vs single greedy requests, a sampled one,
               then `update_weights` from a perturbed state dict; the greedy tokens and their logprobs are
               compared with a teacher-forced transformers forward of the same weights.
5. throughput  learner steps on a larger random-init Qwen2.5-VL (hidden 1024, 12 layers) in bf16.

Without CUDA the same checks run on CPU, smaller (fewer steps, gloo, fp32 only), so the logic can be tried
anywhere. Exit status 0 when every check passed, 1 otherwise; the JSON goes to argv[1], else
$OUT/gpu_check.json when OUT is set, else ./gpu_check.json.

The GPU machine has no ray, gymnasium, playwright or pydantic. pydantic (and its four small dependencies,
typing-extensions >= 4.16 among them) travels as wheels in the git-ignored .whl/ folder, so the run must
carry it (`carry: [".whl"]`). The command, one line, from the repository root:

    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD && PYTHONUNBUFFERED=1 timeout 230 python3 scripts/gpu_check.py

Nothing on these paths imports ray (the learner imports it only in `address()`, for Ray groups). The one
workaround is `_bare_envs_packages`: see its docstring.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import socket
import sys
import tempfile
import time
import traceback
import types
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BUDGET_S = 150.0  # the throughput check (~30 s on an H200) is skipped past this: under 4 minutes in all


def _bare_envs_packages() -> None:
    """Register `envs` and `envs.core` as bare packages, without running their `__init__`.

    The learner needs only `envs.core.elements` (a dataclass, via `agentrl.data.samples`), but importing the
    `envs` package registers every env family (gymnasium, Playwright) and `envs.core` imports the gymnasium
    base env. Subpackages and modules below them still import normally.
    """
    for name in ("envs", "envs.core"):
        if name not in sys.modules:
            module = types.ModuleType(name)
            module.__path__ = [str(ROOT / name.replace(".", "/"))]
            sys.modules[name] = module


sys.path.insert(0, str(ROOT))
_bare_envs_packages()

import numpy as np  # noqa: E402
import torch  # noqa: E402

CUDA = torch.cuda.is_available()
DEVICE = "cuda" if CUDA else "cpu"


# -- report ------------------------------------------------------------------------------------------------
def run_check(report: dict[str, Any], name: str, fn: Any, *args: Any) -> Any:
    """Run one check; its dict of numbers (or its error) goes into report["checks"][name]."""
    t0 = time.perf_counter()
    out: dict[str, Any] = {}
    result = None
    try:
        result = fn(out, *args)
        out["status"] = "ok"
    except Exception as e:
        out["status"] = f"error: {type(e).__name__}: {e}"[:500]
        out["traceback"] = traceback.format_exc()[-3000:]
    if CUDA:
        try:  # a CUDA error would surface here again: keep it in this check's record
            torch.cuda.synchronize()
            torch.cuda.empty_cache()
        except Exception as e:
            out.setdefault("cuda_after", f"{type(e).__name__}: {e}"[:300])
    out["seconds"] = round(time.perf_counter() - t0, 2)
    report["checks"][name] = out
    write_report(report)  # after every check: a run killed by its timeout still leaves what it had
    numbers = ", ".join(f"{k}={_short(v)}" for k, v in out.items() if k not in ("status", "traceback"))
    print(f"[{name}] {out['status']}  ({numbers})", flush=True)
    if "traceback" in out:
        print(out["traceback"], flush=True)
    return result


def write_report(report: dict[str, Any]) -> None:
    path = Path(report["json_path"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, default=str))


def _short(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, list) and len(v) > 6:
        return "[" + ", ".join(_short(x) for x in v[:3]) + ", ..., " + _short(v[-1]) + "]"
    if isinstance(v, list):
        return "[" + ", ".join(_short(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}={_short(x)}" for k, x in v.items()) + "}"
    return str(v)


def _peak_gib() -> float:
    return round(torch.cuda.max_memory_allocated() / 2**30, 3) if CUDA else 0.0


def _reset_peak() -> None:
    if CUDA:
        torch.cuda.reset_peak_memory_stats()


# -- data ----------------------------------------------------------------------------------------------------
WORDS = ("OK", "Cancel", "Submit", "Next", "Back", "Search", "Login", "Save", "Open", "Close", "Yes", "No")
ROLES = ("button", "link", "checkbox", "textbox")


def synthetic_screens(n: int, seed: int, height: int = 210, width: int = 160) -> list[tuple[Any, list]]:
    """(screenshot (H, W, 3) uint8, elements) pairs: coloured boxes with their element boxes, like a toy screen."""
    from PIL import Image, ImageDraw

    from envs.core.elements import Element

    rng = np.random.RandomState(seed)
    out = []
    for _ in range(n):
        img = Image.new("RGB", (width, height), tuple(int(c) for c in rng.randint(200, 256, 3)))
        draw = ImageDraw.Draw(img)
        elements = []
        for i in range(int(rng.randint(3, 7))):
            w, h = int(rng.randint(30, width // 2)), int(rng.randint(14, 30))
            x, y = int(rng.randint(0, width - w)), int(rng.randint(0, height - h))
            draw.rectangle([x, y, x + w, y + h], fill=tuple(int(c) for c in rng.randint(0, 200, 3)))
            text = str(WORDS[rng.randint(len(WORDS))])
            draw.text((x + 2, y + 2), text, fill=(255, 255, 255))
            elements.append(Element(i, str(ROLES[rng.randint(len(ROLES))]), text, x, y, w, h))
        out.append((np.asarray(img), elements))
    return out


def make_samples(tokenizer: Any, n_screens: int, seed: int, **size: int) -> list[Any]:
    """Grounding samples (`agentrl.data.samples.grounding_samples`): one image, a question, a short answer."""
    from agentrl.data.samples import grounding_samples

    return list(grounding_samples(synthetic_screens(n_screens, seed, **size), tokenizer, seed=seed))


# -- learner -------------------------------------------------------------------------------------------------
def learner_cfg(**kw: Any) -> Any:
    from agentrl.train.config import LearnerConfig

    return LearnerConfig(local=True, num_gpus_per_worker=1 if CUDA else 0, **kw)


def train_steps(out: dict[str, Any], worker: Any, samples: list[Any], steps: int, micro: int) -> None:
    """`steps` optimizer steps on the same batch; loss per step, tokens/s after the first (warm-up) step."""
    from agentrl.train.batch import expand_sample

    global_trainable = float(sum(s.num_trainable for s in samples))
    losses, tokens, seconds, skipped = [], 0.0, 0.0, 0
    for i in range(steps):
        m = worker.train_step(samples, global_trainable, micro)
        skipped += int(m["skipped"])  # non-finite gradients
        losses.append(m["nll_sum"] / m["tokens"])
        if i > 0:
            tokens, seconds = tokens + m["batch_tokens"], seconds + m["step_s"]
    out["loss_first"], out["loss_last"] = round(losses[0], 4), round(losses[-1], 4)
    out["losses"] = [round(x, 4) for x in losses]
    out["tokens_per_step"] = m["batch_tokens"]
    out["tokens_per_s"] = round(tokens / seconds, 1) if seconds else None
    # a step includes the image processor on CPU (expand_sample); the model's own rate is without it
    t0 = time.perf_counter()
    for s in samples:
        expand_sample(s, worker.processor, worker.image_token_id)
    out["preprocess_s_per_step"] = round(time.perf_counter() - t0, 3)
    model_s = seconds - (steps - 1) * out["preprocess_s_per_step"]
    out["tokens_per_s_model"] = round(tokens / model_s, 1) if model_s > 0 else None
    out["peak_gib"] = _peak_gib()
    assert all(math.isfinite(x) for x in losses) and not skipped, f"{skipped} steps skipped; losses {losses}"
    assert losses[-1] < losses[0], f"loss did not decrease: {losses[0]:.4f} -> {losses[-1]:.4f}"


def new_worker(out: dict[str, Any], model_dir: Path, cfg: Any, steps: int, lr: float = 1e-3) -> Any:
    from agentrl.train.config import OptimConfig
    from agentrl.train.worker import LearnerWorker

    _reset_peak()
    worker = LearnerWorker(str(model_dir), cfg, OptimConfig(lr=lr, warmup_steps=0), total_steps=steps)
    info = worker.setup()
    out.update(device=info["device"], dtype=info["dtype"], strategy=info["strategy"])
    out["trainable_parameters"] = info["trainable_parameters"]
    return worker


def check_model(out: dict[str, Any], tmp: Path) -> Path:
    from agentrl.models.factory import init_model

    model_dir = init_model("tiny", tmp / "tiny", seed=0)
    cfg = json.loads((model_dir / "config.json").read_text())
    out["hidden_size"] = cfg["text_config"]["hidden_size"]
    out["vocab_size"] = cfg["text_config"]["vocab_size"]
    return model_dir


def check_samples(out: dict[str, Any], model_dir: Path) -> list[Any]:
    from agentrl.models.loading import load_processor

    samples = make_samples(load_processor(model_dir).tokenizer, 8, seed=0)  # 2 per screen
    out["samples"] = len(samples)
    out["trainable_tokens"] = sum(s.num_trainable for s in samples)
    return samples


def check_learner(out: dict[str, Any], model_dir: Path, samples: list[Any], steps: int) -> None:
    worker = new_worker(out, model_dir, learner_cfg(), steps)
    assert worker.device.type == DEVICE, f"learner on {worker.device}, expected {DEVICE}"
    assert worker.dtype == (torch.bfloat16 if CUDA else torch.float32), f"precision auto gave {worker.dtype}"
    train_steps(out, worker, samples, steps, micro=8)
    lps = worker.logprobs(samples[:2], micro_batch_size=2)
    assert all(len(lp) == len(s.input_ids) for lp, s in zip(lps, samples, strict=False))
    sd = worker.full_state_dict()
    out["state_dict_tensors"] = len(sd)
    assert all(v.dtype == torch.float32 and v.device.type == "cpu" for v in sd.values())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def check_dist_init(out: dict[str, Any]) -> None:
    """A world-size-1 process group (NCCL on CUDA) and one all_reduce. The learner's setup() creates a group
    only when world_size > 1; the FSDP2 and DDP checks below run world_size=1 workers inside this one."""
    import torch.distributed as dist

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(_free_port()))
    if CUDA:
        torch.cuda.set_device(0)
    dist.init_process_group("nccl" if CUDA else "gloo", rank=0, world_size=1)
    out["backend"] = dist.get_backend()
    x = torch.arange(4, dtype=torch.float32, device=DEVICE)
    dist.all_reduce(x)
    assert x.tolist() == [0.0, 1.0, 2.0, 3.0], f"all_reduce gave {x.tolist()}"


def check_fsdp2(
    out: dict[str, Any], model_dir: Path, samples: list[Any], steps: int, freeze_vision: bool = False
) -> None:
    worker = new_worker(out, model_dir, learner_cfg(strategy="fsdp2", freeze_vision=freeze_vision), steps)
    train_steps(out, worker, samples, steps, micro=8)
    sd = worker.full_state_dict()
    out["state_dict_tensors"] = len(sd)
    assert sd and all(v.dtype == torch.float32 for v in sd.values()), "FSDP2 full state dict"
    if freeze_vision:  # the tower is untouched and its features were computed once per screenshot
        with torch.no_grad():
            base = load_state_dict_from_dir(model_dir)
        moved = [k for k, v in sd.items() if "visual" in k and not torch.equal(v, base[k].float())]
        out["vision_cache"] = {"hits": worker.vision.hits, "misses": worker.vision.misses}
        assert not moved and worker.vision.misses == len({k for s in samples for k in _keys(s)}), moved[:3]


def _keys(sample: Any) -> list[str]:
    from agentrl.models.vision_cache import image_key

    return [image_key(im) for im in sample.images]


def load_state_dict_from_dir(model_dir: Path) -> dict[str, torch.Tensor]:
    from agentrl.models.weights import load_state_dict_from_dir as load

    return load(model_dir)


def check_ddp_lora(out: dict[str, Any], model_dir: Path, samples: list[Any], steps: int) -> None:
    """DDP is what strategy `auto` picks for LoRA at world_size > 1; the config admits it only that way, so
    it is set on a copy of the config here."""
    from agentrl.train.config import LoraSettings

    cfg = learner_cfg(lora=LoraSettings(enabled=True, r=8, alpha=16)).model_copy(update={"strategy": "ddp"})
    worker = new_worker(out, model_dir, cfg, steps, lr=1e-2)
    train_steps(out, worker, samples, steps, micro=8)
    out["state_dict_tensors"] = len(worker.full_state_dict())


# -- engine --------------------------------------------------------------------------------------------------
def _image(seed: int) -> Any:
    from PIL import Image

    return Image.fromarray(np.random.RandomState(seed).randint(0, 255, (210, 160, 3), dtype=np.uint8))


def _prompt(tokenizer: Any, text: str) -> list[int]:
    s = (
        "<|im_start|>system\nYou are a GUI agent.<|im_end|>\n<|im_start|>user\n"
        f"<|vision_start|><|image_pad|><|vision_end|>{text}<|im_end|>\n<|im_start|>assistant\n"
    )
    return tokenizer.encode(s, add_special_tokens=False)


def _perturbed(model: Any, seed: int = 1, scale: float = 0.05) -> dict[str, torch.Tensor]:
    """fp32 CPU weights moved by noise; lm_head is tied to the embedding, so only the embedding moves."""
    g = torch.Generator().manual_seed(seed)
    return {
        k: v.detach().float().cpu() + scale * torch.randn(v.shape, generator=g)
        for k, v in model.state_dict().items()
        if k != "lm_head.weight"
    }


@torch.no_grad()
def reference(model: Any, engine: Any, request: Any, generated: list[int]) -> tuple[list[float], list[int]]:
    """Teacher-forced logprobs of `generated` after the prompt, and the greedy choice at each position."""
    from agentrl.models.multimodal import (
        expand_image_tokens,
        image_token_counts,
        merge_size,
        mm_token_type_ids,
        process_images,
    )

    vis = process_images(engine.processor, request.images)
    counts = image_token_counts(vis.image_grid_thw, merge_size(engine.processor))
    prompt = expand_image_tokens(request.prompt_token_ids, counts, engine.image_token_id)
    ids = torch.tensor([prompt + generated])  # (1, T)
    logits = model(
        input_ids=ids.to(DEVICE),
        attention_mask=torch.ones_like(ids).to(DEVICE),
        mm_token_type_ids=mm_token_type_ids(ids, engine.image_token_id, engine.video_token_id).to(DEVICE),
        pixel_values=vis.pixel_values.to(DEVICE, model.dtype),
        image_grid_thw=vis.image_grid_thw.to(DEVICE),
        use_cache=False,
    ).logits
    n = len(generated)
    lp = logits[0, len(prompt) - 1 : len(prompt) - 1 + n].float().log_softmax(-1).cpu()  # (n, V)
    picked = lp[torch.arange(n), torch.tensor(generated)].tolist()
    lp[:, engine.blocked] = -math.inf  # the engine never samples these
    return picked, lp.argmax(-1).tolist()


def check_engine(out: dict[str, Any], model_dir: Path, dtype: str, tol: float | None) -> None:
    """`tol`: the largest |engine - forward| logprob allowed; None only reports it (bf16: KV cache vs one
    full forward round differently)."""
    from agentrl.models.loading import load_model
    from rollout.engines.base import GenerationRequest, SamplingConfig
    from rollout.engines.hf import HFEngine

    _reset_peak()
    engine = HFEngine(model_dir, dtype=dtype, device=DEVICE, batch_wait_s=0.05)
    out["engine_param"] = f"{next(engine.model.parameters()).device}/{engine.model.dtype}"
    greedy = SamplingConfig(max_tokens=16, temperature=0)
    texts = ("Click OK.", "Select the second item in the list please.", "Type hello.", "Close the dialog.")
    reqs = [GenerationRequest(_prompt(engine.tokenizer, t), [_image(i)], greedy) for i, t in enumerate(texts)]
    weights = _perturbed(engine.model)

    async def run() -> tuple:
        t0 = time.perf_counter()
        batched = await asyncio.gather(*[engine.generate(r) for r in reqs])
        batched_s = time.perf_counter() - t0
        single = [await engine.generate(r) for r in reqs]
        sampled = await engine.generate(
            GenerationRequest(reqs[0].prompt_token_ids, reqs[0].images, SamplingConfig(max_tokens=16, seed=3))
        )
        await engine.update_weights(weights, version=1)
        pushed = await engine.generate(reqs[1])
        await engine.shutdown()
        return batched, batched_s, single, sampled, pushed

    batched, batched_s, single, sampled, pushed = asyncio.run(run())
    out["batched_s"] = round(batched_s, 3)
    out["batched_eq_single"] = sum(a.token_ids == b.token_ids for a, b in zip(batched, single, strict=True))
    out["batched_vs_single_max_lp_diff"] = max(
        abs(x - y) for a, b in zip(batched, single, strict=True) for x, y in zip(a.logprobs, b.logprobs)
    )
    assert len(sampled.token_ids) == len(sampled.logprobs) and all(map(math.isfinite, sampled.logprobs))
    assert pushed.policy_version == 1 and len(pushed.token_ids) == len(pushed.logprobs) > 0
    assert pushed.logprobs != single[1].logprobs, "update_weights left the output unchanged"
    dtype_t = engine.model.dtype
    own = engine.model.state_dict()
    out["pushed_weights_max_diff"] = max(
        float((own[k].cpu() - v.to(dtype_t)).abs().max()) for k, v in weights.items()
    )
    ref_model = load_model(model_dir, dtype=dtype, device=DEVICE)
    loaded = ref_model.load_state_dict({k: v.to(dtype_t) for k, v in weights.items()}, strict=False)
    assert not loaded.unexpected_keys, f"unexpected keys {loaded.unexpected_keys[:3]}"
    ref_lp, ref_greedy = reference(ref_model, engine, reqs[1], pushed.token_ids)
    diff = max(abs(a - b) for a, b in zip(pushed.logprobs, ref_lp, strict=True))
    out["pushed_tokens"] = len(pushed.token_ids)
    out["greedy_match"] = sum(a == b for a, b in zip(pushed.token_ids, ref_greedy, strict=True))
    out["max_lp_diff_vs_forward"] = diff
    out["peak_gib"] = _peak_gib()
    assert out["pushed_weights_max_diff"] == 0.0, "update_weights did not copy the weights exactly"
    assert math.isfinite(diff), f"non-finite logprob diff {diff}"
    if tol is not None:
        assert diff < tol, f"max |logprob engine - forward| {diff:.2e} >= {tol}"
        assert out["greedy_match"] == len(pushed.token_ids), "greedy tokens differ from the forward's argmax"
        assert out["batched_eq_single"] == len(reqs), "batched greedy tokens differ from single requests"


# -- throughput -----------------------------------------------------------------------------------------------
def check_throughput(out: dict[str, Any], tmp: Path) -> None:
    """Learner steps on a larger random-init Qwen2.5-VL (a preset registered for this process only)."""
    from agentrl.models import factory
    from agentrl.models.loading import load_processor

    if CUDA:  # ~170M parameters; head_dim 64 -> mrope_section sums to 32
        preset = factory.Preset(
            1024, 2816, 12, 16, 4, 512, 1536, 8, 8, 2048, 4 * 784, 1024 * 784, (8, 12, 12)
        )
        n_screens, steps, size = 16, 6, {"height": 448, "width": 640}  # 368 image tokens a sample
    else:
        preset = factory.PRESETS["tiny"]
        n_screens, steps, size = 2, 2, {}
    factory.PRESETS["gpu_check"] = preset
    model_dir = factory.init_model("gpu_check", tmp / "gpu_check", seed=0)
    samples = make_samples(load_processor(model_dir).tokenizer, n_screens, seed=7, **size)
    worker = new_worker(out, model_dir, learner_cfg(), steps)
    out["samples"] = len(samples)
    train_steps(out, worker, samples, steps, micro=8)


# -- main -----------------------------------------------------------------------------------------------------
def environment() -> dict[str, Any]:
    import transformers

    env: dict[str, Any] = {"torch": torch.__version__, "transformers": transformers.__version__}
    env["python"] = sys.version.split()[0]
    env["cuda"] = torch.version.cuda if CUDA else None
    env["device_name"] = torch.cuda.get_device_name(0) if CUDA else "cpu"
    env["nccl"] = str(torch.cuda.nccl.version()) if CUDA else None
    return env


def run_all(report: dict[str, Any], tmp: Path, t_start: float) -> None:
    import torch.distributed as dist

    steps = 30 if CUDA else 4
    model_dir = run_check(report, "model", check_model, tmp)
    samples = run_check(report, "samples", check_samples, model_dir) if model_dir else None
    if samples:
        run_check(report, "learner", check_learner, model_dir, samples, steps)
        run_check(report, "dist_init", check_dist_init)
        if dist.is_initialized():
            run_check(report, "fsdp2", check_fsdp2, model_dir, samples, 10 if CUDA else 3)
            run_check(report, "fsdp2_frozen_vision", check_fsdp2, model_dir, samples, 3, True)
            run_check(report, "ddp_lora", check_ddp_lora, model_dir, samples, 5 if CUDA else 3)
            dist.destroy_process_group()
    if model_dir:
        for dtype, tol in (("bfloat16", None), ("float32", 1e-3)) if CUDA else (("float32", 1e-4),):
            run_check(report, f"engine_{dtype}", check_engine, model_dir, dtype, tol)
    if time.perf_counter() - t_start < BUDGET_S:
        run_check(report, "throughput", check_throughput, tmp)
    else:
        report["checks"]["throughput"] = {"status": "skipped: time budget"}


def main() -> int:
    t_start = time.perf_counter()
    default = Path(os.environ["OUT"]) / "gpu_check.json" if os.environ.get("OUT") else Path("gpu_check.json")
    json_path = Path(sys.argv[1]) if len(sys.argv) > 1 else default
    if not CUDA:
        torch.set_num_threads(min(2, torch.get_num_threads()))
    report: dict[str, Any] = {"environment": environment(), "json_path": str(json_path), "checks": {}}
    print(f"gpu_check on {report['environment']}", flush=True)
    with tempfile.TemporaryDirectory(prefix="gpu_check_") as d:
        run_all(report, Path(d), t_start)
    report["elapsed_s"] = round(time.perf_counter() - t_start, 1)
    report["failed"] = failed = [k for k, v in report["checks"].items() if v["status"] != "ok"]
    write_report(report)
    print(f"gpu_check: {len(report['checks']) - len(failed)} ok, failed: {failed or 'none'}; "
          f"{report['elapsed_s']} s; report {json_path}", flush=True)  # fmt: skip
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
