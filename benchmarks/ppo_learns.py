"""Evidence that PPO learns: from an SFT checkpoint, PPO on 3 MiniWoB++ tasks within a 20-minute budget,
greedy success on held-out seeds before and after, per task, with Wilson 95% intervals and a two-proportion
z-test.

    python benchmarks/ppo_learns.py --model SFT_DIR [--budget-s 1200] [--eval-episodes 300]

SFT_DIR: e.g. benchmarks/sft_learns.py's checkpoint (benchmarks/work/sft_learns/sft-*/final), which observes
screenshot+elements. Training draws seeds below 1,000,000; evaluation uses seeds from 1,000,000 up, round
robin over the tasks (configs/ppo_tiny.yaml's PPO with the overrides below: GRPO advantages over 8 samples
of each training seed, synchronous batches of 6 such groups, lr 1e-4; `--set` adds overrides, e.g. the
committed result's `agent.sampling.temperature=0.7 rewards.format_penalty=-0.2 pool.min_batch=192
pool.max_batch=192 ppo.epochs=2 ppo.minibatches=2`, all recorded in the result). Writes
benchmarks/results/ppo_learns.json; "ratio" = mean success after / before (higher is better).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path

from _common import RESULTS, ROOT, WORK, machine

TASKS = [
    "agentrl/miniwob.click-button-v0",
    "agentrl/miniwob.click-link-v0",
    "agentrl/miniwob.click-widget-v0",
]


def main() -> None:
    from agentrl.config import load_config
    from agentrl.eval.stats import two_proportion_z, wilson
    from agentrl.train.ppo.loop import PPOConfig, PPOTrainer

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", type=Path, required=True)
    p.add_argument("--budget-s", type=float, default=1200.0)
    p.add_argument("--eval-episodes", type=int, default=300)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="more PPO config overrides")
    p.add_argument("--work", default="ppo_learns", help="folder under benchmarks/work/")
    args = p.parse_args()
    out = WORK / args.work
    overrides = [
        f"model={args.model}", f"output_dir={out / 'ppo'}", f"store={out / 'store'}", "run=ppo-learns",
        f"pool.tasks=[{','.join(TASKS)}]", "pool.group_size=8", "pool.min_batch=48", "pool.max_batch=48",
        "mode=sync", "advantage.estimator=grpo", "agent.max_steps=5", f"actor_optim.lr={args.lr}", "iterations=1000",
        f"time_budget_s={args.budget_s}", f"eval.episodes={args.eval_episodes}", "value_pretrain_iterations=0",
        "save_every=0", *args.set,
    ]  # fmt: skip
    cfg = load_config(PPOConfig, ROOT / "configs" / "ppo_tiny.yaml", overrides)
    t0 = time.monotonic()
    report = asyncio.run(PPOTrainer(cfg).run())
    wall = time.monotonic() - t0
    rows = [r for r in report["history"] if r["kind"] == "train"]
    per_task_n = {t: len(range(i, args.eval_episodes, len(TASKS))) for i, t in enumerate(TASKS)}
    table = {}
    for t in [*TASKS, "mean"]:
        key = f"eval_success/{t}" if t != "mean" else "eval_success"
        n = per_task_n[t] if t != "mean" else args.eval_episodes
        before, after = round(report["before"][key] * n), round(report["after"][key] * n)
        z, p_value = two_proportion_z(after, n, before, n)
        table[t] = {
            "episodes": n, "before": before / n, "after": after / n,
            "before_ci95": wilson(before, n), "after_ci95": wilson(after, n), "z": z, "p_value_two_sided": p_value,
        }  # fmt: skip
        print(f"{t:40s} before {before / n:.3f}  after {after / n:.3f}  (n={n}, p={p_value:.3g})", flush=True)
    result = {
        "benchmark": "ppo_learns",
        "machine": machine(),
        "model": str(args.model),
        "tasks": TASKS,
        "config": "configs/ppo_tiny.yaml",
        "overrides": overrides,
        "budget_s": args.budget_s,
        "iterations": len(rows),
        "train_episodes": sum(r["episodes"] for r in rows),
        "train_success_first_last": [rows[0]["success_rate"], rows[-1]["success_rate"]] if rows else None,
        "eval_seeds": [cfg.eval.seed_start, cfg.eval.seed_start + args.eval_episodes - 1],
        "success": table,
        "ratio": round(table["mean"]["after"] / table["mean"]["before"], 3)
        if table["mean"]["before"]
        else None,
        "ratio_definition": "mean held-out success after PPO / before (the SFT start); higher is better",
        "wall_s": round(wall, 1),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "ppo_learns.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: result[k] for k in ("iterations", "train_episodes", "ratio", "wall_s")}))


if __name__ == "__main__":
    main()
