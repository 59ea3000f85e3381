"""SFT training throughput: agentrl's learner against TRL's SFTTrainer, same model, data, batch and optimizer.

    python benchmarks/sft_throughput.py [--steps 40] [--warmup 5] [--batch 8] [--micro 4] [--rounds 2]

Workload: the tiny Qwen2.5-VL (`agentrl.models.factory.init_model("tiny")`, fp32, CPU) on one-turn SFT samples
(prompt with a screenshot + element list, loss on the response) from scripted-expert demonstrations of a toy
task and three MiniWoB++ tasks, recorded into a trajectory store under benchmarks/work/sft_throughput/.

- agentrl: `agentrl.train.sft.train`, the function `agentrl train sft` runs (learner.local=true: one
  in-process rank), reading the store through its sample stream.
- TRL: `trl.SFTTrainer` on the identical samples in the identical order (the same `sample_stream`, consumed
  before training), sequential sampler, a collator that expands the image pads with the processor (the same
  work agentrl's learner does in its step), right-pads, and passes labels (-100 off the response),
  pixel_values, image_grid_thw and mm_token_type_ids. Gradient checkpointing off (TRL's default is on;
  agentrl's is off), no eval, no saving, report_to none, dataloader_num_workers 0.

Both: global batch `--batch` = `--micro` per forward x gradient accumulation, AdamW (lr 1e-3, betas
0.9/0.95, eps 1e-8, weight decay 0.01), linear warmup then cosine to 0.1 lr, grad clip 1.0, seed 0.
Departures: TRL exempts biases and norms from weight decay (agentrl decays all), which costs nothing; within
a global batch agentrl sorts samples by length before cutting micro-batches while TRL keeps stream order, so
padded token counts differ and both are reported; TRL's warmup starts at lr 0 and agentrl's at lr/warmup,
so the losses part after step 1 (the first step's loss is the same on both sides).

Where the time goes: forward + backward of the model is ~88% of a step on both sides (cProfile); reading the
store, image preprocessing and the loss the rest, and TRL's collator does the same image preprocessing. What
differs is the work in the model: agentrl computes the LM head and the log-softmax only at the positions the
loss reads (`logits_to_keep` at `Batch.trained_positions`: the response tokens, a few percent of a sample
that is mostly screenshot and element list), where TRL's model call computes them at every position; the
losses are identical to full-logit ones (tests/train/test_targets_view.py). agentrl also forwards
~5% fewer padded tokens (length-sorted micro-batches).

Tokens/s = non-pad tokens (text + image tokens, prompt included) of the steps after the first `--warmup`,
over the wall time from the end of step `--warmup` to the end of the last step. Each side runs in its own
child process; peak memory is the child's peak resident set (VmHWM). The machine is shared, so the sides
alternate for `--rounds` rounds and the median of each is reported; every round's figures are kept.
Writes benchmarks/results/sft_throughput.json; top-level "ratio" = agentrl tokens/s / TRL tokens/s
(higher is better for agentrl).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, WORK, machine, status_kb  # noqa: E402

ROOT = WORK / "sft_throughput"
TASKS = (
    "agentrl/toy.click-target-v0",
    "agentrl/miniwob.click-button-v0",
    "agentrl/miniwob.click-link-v0",
    "agentrl/miniwob.click-widget-v0",
)
LR, WARMUP_LR_STEPS, SEED = 1e-3, 5, 0


# -- inputs (parent) ------------------------------------------------------------------------------------
def tiny_model() -> Path:
    from agentrl.models.factory import init_model

    out = ROOT / "tiny"
    if not (out / "config.json").exists():
        init_model("tiny", out, seed=0)
    return out


def demo_store(model: Path, episodes: int) -> Path:
    """`episodes` expert episodes per task, tasks interleaved, as `agentrl data demos` records them."""
    from agentrl.data.store import StoreWriter, TrajectoryStore
    from agentrl.models.loading import load_processor
    from rollout.agent import AgentConfig
    from rollout.engines.scripted import ExpertEngine
    from rollout.episode import run_episode
    from rollout.local_env import LocalEnv

    store = ROOT / "store"
    done, want = store / "done.json", {"tasks": list(TASKS), "episodes": episodes}
    if done.exists() and json.loads(done.read_text()) == want:
        return store
    tok = load_processor(model).tokenizer

    async def play() -> None:
        env = LocalEnv()
        try:
            with StoreWriter(TrajectoryStore(store), "demos", 0) as w:
                for seed in range(episodes):
                    for task in TASKS:
                        w.add(await run_episode(ExpertEngine(tok), env, tok, AgentConfig(), task, seed))
        finally:
            env.close()

    import shutil

    shutil.rmtree(store, ignore_errors=True)
    asyncio.run(play())
    done.write_text(json.dumps(want))
    return store


def sft_config(args: argparse.Namespace, out: Path) -> Any:
    from agentrl.train.sft import SFTConfig

    return SFTConfig.model_validate(
        {
            "model": str(args.model), "output_dir": str(out), "steps": args.steps, "log_every": args.steps,
            "data": {"store": str(args.store), "shuffle_buffer": 4096},
            "learner": {"local": True, "seed": SEED},
            "optim": {"lr": LR, "warmup_steps": WARMUP_LR_STEPS},
            "batch": {"global_batch_size": args.batch, "micro_batch_size": args.micro},
            "checkpoint": {"save_every_steps": args.steps + 1},  # only the final save, after timing
        }
    )  # fmt: skip


def steady(step_end_s: list[float], step_tokens: list[float], warmup: int) -> dict[str, float]:
    """Tokens/s over steps warmup+1..N: their tokens over the time from the end of step `warmup`."""
    seconds = step_end_s[-1] - step_end_s[warmup - 1]
    tokens = sum(step_tokens[warmup:])
    return {"steady_tokens": tokens, "steady_s": seconds, "tokens_per_s": tokens / seconds}


# -- agentrl side (child) ---------------------------------------------------------------------------------
def run_agentrl(args: argparse.Namespace) -> dict[str, Any]:
    import shutil

    from agentrl.train.sft import train

    out = ROOT / "out-agentrl"
    shutil.rmtree(out, ignore_errors=True)
    ends: list[float] = []
    tokens: list[float] = []
    losses: list[float] = []

    def on_step(step: int, m: dict[str, float]) -> None:
        ends.append(time.perf_counter())
        tokens.append(m["batch_tokens"])
        losses.append(m["loss"])

    t0 = time.perf_counter()
    train(sft_config(args, out), on_step=on_step)
    return {
        **steady(ends, tokens, args.warmup),
        "total_tokens": sum(tokens),
        "first_step_s": ends[0] - t0,  # includes preflight, model load, first store read
        "loss_first": losses[0],
        "loss_last": losses[-1],
    }


# -- TRL side (child) -------------------------------------------------------------------------------------
class VLCollator:
    """Expand image pads (agentrl's `expand_sample`: the processor's patches and token counts), right-pad,
    labels = ids on response tokens and -100 elsewhere. Counts non-pad and padded tokens per micro-batch."""

    def __init__(
        self, samples: list[Any], processor: Any, image_token_id: int, video_token_id: int, pad_id: int
    ) -> None:
        self.samples, self.processor = samples, processor
        self.image_token_id, self.video_token_id = image_token_id, video_token_id
        self.pad_id = pad_id
        self.tokens: list[int] = []
        self.padded: list[int] = []

    def __call__(self, rows: list[dict[str, int]]) -> dict[str, Any]:
        import torch

        from agentrl.models.multimodal import mm_token_type_ids
        from agentrl.train.batch import expand_sample

        samples = [self.samples[r["index"]] for r in rows]
        items = [expand_sample(s, self.processor, self.image_token_id) for s in samples]
        b, width = len(items), max(len(e.ids) for e in items)
        ids = torch.full((b, width), self.pad_id, dtype=torch.long)  # (B, T)
        attn = torch.zeros((b, width), dtype=torch.long)
        labels = torch.full((b, width), -100, dtype=torch.long)
        for i, e in enumerate(items):
            row = torch.tensor(e.ids, dtype=torch.long)
            ids[i, : len(e.ids)], attn[i, : len(e.ids)] = row, 1
            labels[i, : len(e.ids)] = torch.where(torch.tensor(e.mask) > 0, row, -100)
        self.tokens.append(int(attn.sum()))
        self.padded.append(b * width)
        return {
            "input_ids": ids, "attention_mask": attn, "labels": labels,
            "mm_token_type_ids": mm_token_type_ids(ids, self.image_token_id, self.video_token_id),
            "pixel_values": torch.cat([e.pixel_values for e in items]),  # (sum patches, C*T*P*P)
            "image_grid_thw": torch.cat([e.grid for e in items]),  # (n_images, 3)
        }  # fmt: skip


def run_trl(args: argparse.Namespace) -> dict[str, Any]:
    import torch
    from datasets import Dataset
    from transformers import TrainerCallback
    from trl import SFTConfig, SFTTrainer

    from agentrl.models.loading import load_model, load_processor
    from agentrl.train.data import sample_stream
    from agentrl.train.sft import _image_token_id

    cfg = sft_config(args, ROOT / "out-trl")
    stream = sample_stream(cfg.data, "sft", _image_token_id(cfg.model), cfg.learner.seed)
    samples = list(itertools.islice(stream, args.steps * args.batch))
    dataset = Dataset.from_dict({"index": list(range(len(samples)))})  # the collator looks samples up
    torch.manual_seed(SEED)
    processor, model = load_processor(args.model), load_model(args.model)
    tok = processor.tokenizer
    pad_id = tok.pad_token_id if tok.pad_token_id is not None else tok.convert_tokens_to_ids("<|im_end|>")
    collator = VLCollator(
        samples, processor, model.config.image_token_id, model.config.video_token_id, pad_id
    )
    ends: list[float] = []
    losses: list[float] = []

    class Clock(TrainerCallback):
        def on_step_end(self, targs: Any, state: Any, control: Any, **kw: Any) -> None:
            ends.append(time.perf_counter())

        def on_log(self, targs: Any, state: Any, control: Any, logs: Any = None, **kw: Any) -> None:
            if logs and "loss" in logs:
                losses.append(float(logs["loss"]))

    targs = SFTConfig(
        output_dir=str(ROOT / "out-trl"), max_steps=args.steps, per_device_train_batch_size=args.micro,
        gradient_accumulation_steps=args.batch // args.micro, learning_rate=LR, adam_beta1=0.9,
        adam_beta2=0.95, adam_epsilon=1e-8, weight_decay=0.01, max_grad_norm=1.0,
        lr_scheduler_type="cosine_with_min_lr", lr_scheduler_kwargs={"min_lr_rate": 0.1},
        warmup_steps=WARMUP_LR_STEPS, optim="adamw_torch", seed=SEED, data_seed=SEED, use_cpu=True,
        bf16=False, fp16=False, gradient_checkpointing=False, logging_steps=1, save_strategy="no",
        eval_strategy="no", report_to="none", dataloader_num_workers=0, dataloader_pin_memory=False,
        remove_unused_columns=False, train_sampling_strategy="sequential", max_length=None,
        dataset_kwargs={"skip_prepare_dataset": True}, disable_tqdm=True,
    )  # fmt: skip
    trainer = SFTTrainer(
        model=model, args=targs, train_dataset=dataset, data_collator=collator,
        processing_class=processor, callbacks=[Clock()],
    )  # fmt: skip
    t0 = time.perf_counter()
    trainer.train()
    accum = args.batch // args.micro
    step_tokens = [float(sum(collator.tokens[i : i + accum])) for i in range(0, len(collator.tokens), accum)]
    return {
        **steady(ends, step_tokens, args.warmup),
        "total_tokens": sum(step_tokens),
        "padded_tokens": sum(collator.padded),
        "agentrl_padded_tokens": agentrl_padded(samples, processor, args),
        "first_step_s": ends[0] - t0,
        "loss_first": losses[0] if losses else float("nan"),
        "loss_last": losses[-1] if losses else float("nan"),
    }


def agentrl_padded(samples: list[Any], processor: Any, args: argparse.Namespace) -> int:
    """Padded tokens agentrl's learner forwards for the same batches (sorted by length within each)."""
    from agentrl.models.multimodal import image_token_counts, merge_size, process_images

    def length(s: Any) -> int:
        counts = image_token_counts(process_images(processor, s.images).image_grid_thw, merge_size(processor))
        return len(s.input_ids) - len(counts) + sum(counts)

    lengths = [length(s) for s in samples]
    total = 0
    for g in range(0, len(lengths), args.batch):
        batch = sorted(lengths[g : g + args.batch])
        total += sum(
            len(mb) * max(mb) for mb in (batch[i : i + args.micro] for i in range(0, len(batch), args.micro))
        )
    return total


# -- driver -----------------------------------------------------------------------------------------------
def child(args: argparse.Namespace) -> None:
    import torch

    result = run_agentrl(args) if args.side == "agentrl" else run_trl(args)
    result.update(peak_rss_mb=status_kb("VmHWM") / 1024, torch_threads=torch.get_num_threads())
    Path(args.result).write_text(json.dumps(result))


def run_side(side: str, args: argparse.Namespace, model: Path, store: Path) -> dict[str, Any]:
    result = ROOT / f"result-{side}.json"
    result.unlink(missing_ok=True)
    cmd = [sys.executable, __file__, "--side", side, "--result", str(result), "--model", str(model),
           "--store", str(store), "--steps", str(args.steps), "--warmup", str(args.warmup),
           "--batch", str(args.batch), "--micro", str(args.micro)]  # fmt: skip
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True)
    out = json.loads(result.read_text())
    out["process_s"] = time.perf_counter() - t0
    print(f"{side}: {out['tokens_per_s']:.0f} tokens/s, peak {out['peak_rss_mb']:.0f} MB", flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--warmup", type=int, default=5, help="steps excluded from tokens/s")
    ap.add_argument("--batch", type=int, default=8, help="global batch (samples per optimizer step)")
    ap.add_argument("--micro", type=int, default=4, help="samples per forward/backward")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--episodes", type=int, default=100, help="expert episodes per task in the store")
    ap.add_argument("--out", default=str(RESULTS / "sft_throughput.json"))
    ap.add_argument("--side", choices=["agentrl", "trl"], default=None, help=argparse.SUPPRESS)
    ap.add_argument("--result", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--model", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--store", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.batch % args.micro or not 0 < args.warmup < args.steps:
        ap.error("need --batch divisible by --micro and 0 < --warmup < --steps")
    if args.side:
        return child(args)
    model = tiny_model()
    store = demo_store(model, args.episodes)
    rounds: list[dict[str, Any]] = []
    for r in range(args.rounds):
        order = ("agentrl", "trl") if r % 2 == 0 else ("trl", "agentrl")
        rounds.append({side: run_side(side, args, model, store) for side in order})
    med = {s: statistics.median(r[s]["tokens_per_s"] for r in rounds) for s in ("agentrl", "trl")}
    peak = {s: max(r[s]["peak_rss_mb"] for r in rounds) for s in ("agentrl", "trl")}
    import torch
    import transformers
    import trl

    report = {
        "benchmark": "sft_throughput",
        "machine": machine(),
        "versions": {
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "trl": trl.__version__,
        },
        "workload": {
            "model": "tiny (agentrl.models.factory preset), fp32, CPU",
            "tasks": list(TASKS),
            "episodes_per_task": args.episodes,
            "steps": args.steps,
            "warmup_steps_excluded": args.warmup,
            "global_batch": args.batch,
            "micro_batch": args.micro,
            "grad_accumulation": args.batch // args.micro,
            "optimizer": f"AdamW lr {LR} betas (0.9, 0.95) eps 1e-8 wd 0.01, warmup {WARMUP_LR_STEPS} + cosine to 0.1, clip 1.0",
        },  # fmt: skip
        "agentrl_tokens_per_s": med["agentrl"],
        "trl_tokens_per_s": med["trl"],
        "agentrl_peak_rss_mb": peak["agentrl"],
        "trl_peak_rss_mb": peak["trl"],
        "rounds": rounds,
        "ratio": med["agentrl"] / med["trl"],
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(f"ratio (agentrl / TRL tokens/s): {report['ratio']:.2f} -> {args.out}")


if __name__ == "__main__":
    main()
