"""Packed (padding-free) micro-batches against padded ones, on a PPO batch of mixed-length multi-turn samples.

    python benchmarks/packing.py [--episodes 24] [--steps 6] [--rounds 2]

Workload: the tiny Qwen2.5-VL on the CPU; one PPO-style batch of per-turn samples (each turn's prompt, with
the screenshots of the last turns and the older turns as text, plus its response) from scripted-expert
episodes of the toy tasks, multi-turn ones among them (click-sequence, 2-4 turns), so lengths vary from one
turn to the next as in a real PPO batch. Both sides: `LearnerWorker.train_step` on the same samples, the
same optimizer, fp32; processed screenshots are cached after the warm-up step on both sides.

- padded: micro-batches of `--micro` samples after sorting by length, right-padded (agentrl before packing);
- packed: the samples of a micro-batch one after another in one row, cut by a token budget
  (`--micro` x the mean length), attention kept inside each sample (agentrl.models.attention).

Tokens/s counts real (non-pad) tokens. The sides alternate for `--rounds` rounds; medians are reported and
every round is kept. The losses of the two sides' first step must agree (the same update). Writes
benchmarks/results/packing.json; "ratio" = packed / padded tokens/s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, WORK, machine  # noqa: E402

TASKS = ("agentrl/toy.click-sequence-v0", "agentrl/toy.click-target-v0")


def ppo_batch(model_dir: Path, episodes: int) -> list[Any]:
    """Per-turn samples of expert episodes, as PPO's batch builder makes them (prompt + response)."""
    from agentrl.data.samples import sft_samples
    from agentrl.models.loading import load_processor
    from rollout.agent import AgentConfig
    from rollout.engines.scripted import ExpertEngine
    from rollout.episode import run_episode
    from rollout.local_env import LocalEnv

    tok = load_processor(model_dir).tokenizer

    async def play() -> list[Any]:
        env = LocalEnv()
        try:
            return [
                await run_episode(ExpertEngine(tok), env, tok, AgentConfig(), TASKS[i % len(TASKS)], 1000 + i)
                for i in range(episodes)
            ]
        finally:
            env.close()

    return list(sft_samples(asyncio.run(play())))


def run_side(model_dir: Path, samples: list[Any], steps: int, packed: bool, micro: int) -> dict[str, Any]:
    from agentrl.train.config import LearnerConfig, OptimConfig
    from agentrl.train.worker import LearnerWorker

    mean_len = sum(len(s.input_ids) for s in samples) / len(samples)
    cfg = LearnerConfig(
        local=True, packing=packed, micro_batch_tokens=int(micro * mean_len * 1.3) if packed else 0
    )
    worker = LearnerWorker(str(model_dir), cfg, OptimConfig(lr=1e-4, warmup_steps=0), total_steps=steps + 1)
    worker.setup()
    total = float(sum(s.num_trainable for s in samples))
    first = worker.train_step(samples, total, micro)  # warm-up (fills the screenshot cache)
    t0 = time.perf_counter()
    tokens = 0.0
    for _ in range(steps):
        tokens += worker.train_step(samples, total, micro)["batch_tokens"]
    dt = time.perf_counter() - t0
    expanded = worker._expand(samples)
    groups = worker._groups(expanded, micro)
    padded_tokens = sum(len(g) * max(len(e.ids) for e in g) for g in groups)
    return {
        "tokens_per_s": tokens / dt,
        "step_s": dt / steps,
        "micro_batches": len(groups),
        "forwarded_tokens_per_step": sum(len(e.ids) for e in expanded) if packed else padded_tokens,
        "first_loss": first["nll_sum"] / first["tokens"],
    }


def main() -> int:
    import torch

    from agentrl.models.factory import init_model

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--episodes", type=int, default=24)
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--micro", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    torch.manual_seed(0)
    model_dir = init_model("tiny", WORK / "tiny", seed=0)
    samples = ppo_batch(model_dir, args.episodes)
    lengths = sorted(len(s.input_ids) for s in samples)
    rounds = []
    for _ in range(args.rounds):
        rounds.append({name: run_side(model_dir, samples, args.steps, name == "packed", args.micro)
                       for name in ("padded", "packed")})  # fmt: skip
        print(json.dumps(rounds[-1]), flush=True)
    med = {n: statistics.median(r[n]["tokens_per_s"] for r in rounds) for n in ("padded", "packed")}
    loss_gap = max(abs(r["packed"]["first_loss"] - r["padded"]["first_loss"]) for r in rounds)
    result = {
        "benchmark": "packing",
        "machine": machine(),
        "workload": {"tasks": TASKS, "episodes": args.episodes, "samples": len(samples), "steps": args.steps,
                     "micro_batch": args.micro, "unexpanded_lengths_min_median_max":
                     [lengths[0], lengths[len(lengths) // 2], lengths[-1]], "model": "tiny, fp32, CPU"},
        "padded_tokens_per_s": med["padded"],
        "packed_tokens_per_s": med["packed"],
        "first_step_loss_max_gap": loss_gap,
        "rounds": rounds,
        "ratio": med["packed"] / med["padded"],
    }  # fmt: skip
    out = RESULTS / "packing.json"
    out.write_text(json.dumps(result, indent=2))
    print(json.dumps({k: v for k, v in result.items() if k != "rounds"}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
