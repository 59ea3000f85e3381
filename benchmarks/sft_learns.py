"""Does SFT learn? The tiny model, SFT'd on scripted-expert demonstrations, against the two floors.

    python benchmarks/sft_learns.py [--tasks a,b,...] [--demos 3000] [--steps 1500] [--eval-seeds 200]

DESIGN's bar: on held-out seeds, SFT beats both the random-click and the best-fixed-click baselines on at
least 3 tasks; "beats" is Fisher's exact test at p < 0.05 on the episodes (agentrl.flywheel.report.beats),
with the counts in the JSON. One multi-task model is trained on every task's demonstrations (seeds 0..demos-1, the
agent's default observation: screenshot + element list) with `agentrl train sft`, then played greedily
(temperature 0) on seeds 1,000,000.. that no demonstration used. The best fixed click is searched on the
training seeds and scored on the held-out ones, as is the random click (envs/baselines.py).

Writes benchmarks/results/sft_learns.json: per task the three success rates, and the top-level "ratio" =
mean SFT success / mean best-fixed-click success over the tasks (higher is better; > 1 means SFT uses
the observation). Demonstrations and checkpoints live under benchmarks/work/ (git-ignored) and are reused.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, WORK, machine  # noqa: E402

TASKS = (
    "agentrl/toy.click-target-v0",
    "agentrl/miniwob.click-button-v0",
    "agentrl/miniwob.click-link-v0",
    "agentrl/miniwob.click-widget-v0",
)
EVAL_SEED0 = 1_000_000


def make_demos(tasks: list[str], demos: int, store: Path, tokenizer) -> float:
    """`demos` expert episodes per task into `store`, tasks interleaved (so any window of the stream mixes
    them); returns the seconds it took (reused when the store is complete)."""
    from agentrl.data.store import StoreWriter, TrajectoryStore
    from rollout.agent import AgentConfig
    from rollout.engines.scripted import ExpertEngine
    from rollout.episode import run_episode
    from rollout.local_env import LocalEnv

    done = store / "done.json"
    want = {"tasks": tasks, "demos": demos}
    if done.exists() and json.loads(done.read_text())["config"] == want:
        return json.loads(done.read_text())["seconds"]
    if store.exists():
        import shutil

        shutil.rmtree(store)

    async def play() -> None:
        env = LocalEnv()
        with StoreWriter(TrajectoryStore(store), "demos", 0) as w:
            for seed in range(demos):
                for task in tasks:
                    w.add(
                        await run_episode(ExpertEngine(tokenizer), env, tokenizer, AgentConfig(), task, seed)
                    )
                if seed % 250 == 0:
                    print(f"  demos: seed {seed}/{demos} of {len(tasks)} tasks", flush=True)
        env.close()

    t0 = time.monotonic()
    asyncio.run(play())
    seconds = round(time.monotonic() - t0, 1)
    done.write_text(json.dumps({"config": want, "seconds": seconds}))
    return seconds


def sft(
    base: Path, store: Path, out: Path, steps: int, lr: float, shift: float, budget_s: float | None
) -> Path:
    if not (out / "final" / "COMPLETE").exists():
        cmd = [sys.executable, "-m", "agentrl", "train", "sft", f"model={base}", f"data.store={store}",
               f"output_dir={out}", f"steps={steps}", "learner.local=true", f"optim.lr={lr}",
               "optim.warmup_steps=30", "data.shuffle_buffer=20000", "log_every=100", "checkpoint.save_every_steps=500",
               f"data.shift_max_frac={shift}", f"time_budget_s={'null' if budget_s is None else budget_s}"]  # fmt: skip
        subprocess.run(cmd, check=True)
    return out / "final"


def verdicts(row: dict, n: int) -> dict:
    """SFT against both floors, each rate over the same n held-out seeds: Fisher's exact test at p < 0.05
    with the counts (agentrl.flywheel.report.beats)."""
    from agentrl.flywheel.report import beats

    k = round(row["sft"] * n)
    out = {f"beats_{f}": beats(k, n, round(row[f] * n), n) for f in ("random_click", "best_fixed_click")}
    return {**out, "beats_both_floors": all(v["significant"] for v in out.values())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", default=",".join(TASKS))
    ap.add_argument("--demos", type=int, default=3000, help="expert episodes per task")
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--shift", type=float, default=0.0, help="data.shift_max_frac (0: off, the default)")
    ap.add_argument("--sft-minutes", type=float, default=None, help="SFT time budget (stops there)")
    ap.add_argument("--eval-seeds", type=int, default=200)
    ap.add_argument(
        "--fixed-seeds", type=int, default=20, help="training seeds for the best-fixed-click search"
    )
    ap.add_argument(
        "--grid-step", type=int, default=20, help="pixels between the fixed-click search's points"
    )
    ap.add_argument("--max-steps", type=int, default=5, help="agent steps per evaluation episode")
    ap.add_argument("--demos-only", action="store_true", help="stop after recording the demonstrations")
    ap.add_argument("--out", default=str(RESULTS / "sft_learns.json"))
    ap.add_argument(
        "--verdicts-only", action="store_true", help="recompute the verdicts of the stored results"
    )
    args = ap.parse_args()
    if args.verdicts_only:
        path = Path(args.out)
        result = json.loads(path.read_text())
        first, last = map(int, result["config"]["eval_seeds"].split(".."))
        for row in result["tasks"].values():
            row.update(verdicts(row, last - first + 1), episodes=last - first + 1)
        result["tasks_beating_both_floors"] = sum(r["beats_both_floors"] for r in result["tasks"].values())
        result["verdict"] = (
            "beats a floor = higher and Fisher's exact test (two-sided) p < 0.05 on the held-out episodes"
        )
        path.write_text(json.dumps(result, indent=2) + "\n")
        print(json.dumps({t: r["beats_both_floors"] for t, r in result["tasks"].items()}))
        return
    tasks = [t if t.startswith("agentrl/") else f"agentrl/{t}" for t in args.tasks.split(",")]

    import envs
    from agentrl.eval.episodes import greedy_success
    from agentrl.flywheel.evaluate import baselines
    from agentrl.models.factory import init_model
    from agentrl.models.loading import load_processor

    for t in tasks:
        envs.spec(t)
    base = init_model("tiny", WORK / "tiny", seed=0)
    tok = load_processor(base).tokenizer
    store = WORK / "sft_learns" / f"store-{args.demos}"
    demo_seconds = make_demos(tasks, args.demos, store, tok)
    if args.demos_only:
        return
    t0 = time.monotonic()
    name = f"sft-{args.demos}-{args.steps}-{args.lr:g}-shift{args.shift:g}-{len(tasks)}tasks"
    budget_s = args.sft_minutes * 60 if args.sft_minutes else None
    model = sft(base, store, WORK / "sft_learns" / name, args.steps, args.lr, args.shift, budget_s)
    sft_seconds = time.monotonic() - t0
    trained = json.loads((model / "state.json").read_text())

    held_out = list(range(EVAL_SEED0, EVAL_SEED0 + args.eval_seeds))
    rows = {}
    n = args.eval_seeds
    for task in tasks:
        floors = baselines(task, args.fixed_seeds, held_out, args.grid_step)
        sft_rate = greedy_success(model, [task], n, EVAL_SEED0, max_steps=args.max_steps)[task]
        untrained = greedy_success(base, [task], 50, EVAL_SEED0, max_steps=args.max_steps)[task]
        rows[task] = {"sft": sft_rate, **floors, "untrained": untrained, "episodes": n}
        rows[task].update(verdicts(rows[task], n))
        print(f"{task}: sft {sft_rate:.1%}  best-fixed {floors['best_fixed_click']:.1%}  "
              f"random {floors['random_click']:.1%}  expert {floors['expert']:.1%}  untrained {untrained:.1%}  "
              f"beats both (Fisher p < 0.05): {rows[task]['beats_both_floors']}")  # fmt: skip

    mean = lambda k: sum(r[k] for r in rows.values()) / len(rows)  # noqa: E731
    result = {
        "benchmark": "sft_learns",
        "machine": machine(),
        "ratio": mean("sft") / max(mean("best_fixed_click"), 1e-9),
        "tasks_beating_both_floors": sum(r["beats_both_floors"] for r in rows.values()),
        "config": {
            "demos_per_task": args.demos,
            "steps": args.steps,
            "lr": args.lr,
            "batch": 32,
            "eval_seeds": f"{EVAL_SEED0}..{EVAL_SEED0 + args.eval_seeds - 1}",
            "greedy": True,
            "max_steps": args.max_steps,
            "fixed_click_search": {"train_seeds": args.fixed_seeds, "grid_step": args.grid_step},
            "observation": "screenshot+elements",
            "shift_max_frac": args.shift,
            "sft_time_budget_s": budget_s,
            "steps_done": trained.get("step"),
        },  # fmt: skip
        "seconds": {"demos": demo_seconds, "sft": round(sft_seconds, 1)},
        "verdict": "beats a floor = higher and Fisher's exact test (two-sided) p < 0.05 on the held-out episodes",
        "tasks": rows,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: result[k] for k in ("ratio", "tasks_beating_both_floors")}))


if __name__ == "__main__":
    main()
