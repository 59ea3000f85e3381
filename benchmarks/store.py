"""Trajectory store throughput: trajectories/s written and read back with images, agentrl's store versus
the naive layout (one JSON file plus one PNG per image for each trajectory: `Trajectory.save`/`load`).

Workload: scripted-expert episodes on agentrl/toy.click-sequence-v0 with 2-6 clicks each (several turns),
160x160 screenshots, prompts tokenised by the tiny model's tokenizer, as `agentrl data demos` records them.
Both sides start from the same in-memory trajectories, write them to a fresh directory on the same disk
and read every one back with its images decoded. agentrl writes through `StoreWriter` with its defaults
(parts of 64, fsynced commits); the naive side does not fsync. The machine is shared, so the two layouts
alternate for `--rounds` rounds and the median of each is reported; every round's figures are kept.

    python benchmarks/store.py [--episodes 512] [--rounds 3] [--out benchmarks/results/store.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import tempfile
import time
from pathlib import Path

ENV_ID = "agentrl/toy.click-sequence-v0"
ENV_KWARGS = {"sequence": (2, 3, 4, 5, 6)}


def make_trajectories(n: int, model_dir: Path) -> list:
    from agentrl.models.loading import load_processor
    from rollout.agent import AgentConfig
    from rollout.engines.scripted import ExpertEngine
    from rollout.episode import run_episode
    from rollout.local_env import LocalEnv

    tokenizer = load_processor(model_dir).tokenizer

    async def run() -> list:
        env = LocalEnv(ENV_KWARGS)
        try:
            engine = ExpertEngine(tokenizer)
            return [
                await run_episode(engine, env, tokenizer, AgentConfig(), ENV_ID, seed) for seed in range(n)
            ]
        finally:
            env.close()

    return asyncio.run(run())


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def agentrl_round(trajs: list, root: Path) -> dict:
    from agentrl.data.store import StoreWriter, TrajectoryStore

    t0 = time.perf_counter()
    with StoreWriter(TrajectoryStore(root), "bench", 0) as writer:
        for t in trajs:
            writer.add(t)
    write_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    store = TrajectoryStore(root)
    n = sum(1 for _ in store.query())
    read_s = time.perf_counter() - t0
    assert n == len(trajs) and not store.errors, store.errors
    return {"write_s": write_s, "read_s": read_s, "bytes": du(root)}


def naive_round(trajs: list, root: Path) -> dict:
    from rollout.trajectory import Trajectory

    t0 = time.perf_counter()
    for t in trajs:
        t.save(root)
    write_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    n = sum(1 for d in sorted(root.iterdir()) if Trajectory.load(d) is not None)
    read_s = time.perf_counter() - t0
    assert n == len(trajs)
    return {"write_s": write_s, "read_s": read_s, "bytes": du(root)}


def check_lossless(trajs: list, scratch: Path) -> None:
    from agentrl.data.store import TrajectoryStore

    store = TrajectoryStore(scratch / "check")
    store.write(trajs[:32], "check", 0)
    by_id = {t.id: t for t in trajs}
    assert all(t == by_id[t.id] for t in store.query()), "store round trip is not lossless"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--episodes", type=int, default=512)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", default="benchmarks/results/store.json")
    ap.add_argument("--scratch", default=None, help="directory for the stores (default: a temporary one)")
    args = ap.parse_args()

    from agentrl.models.factory import init_model

    scratch = Path(tempfile.mkdtemp(prefix="agentrl-store-bench-", dir=args.scratch))
    try:
        model_dir = init_model("tiny", scratch / "tiny", seed=0)
        trajs = make_trajectories(args.episodes, model_dir)
        check_lossless(trajs, scratch)
        for name, fn in (("agentrl", agentrl_round), ("naive", naive_round)):  # warm-up: imports, caches
            fn(trajs[:8], scratch / f"warm-{name}")
        rounds: dict[str, list[dict]] = {"agentrl": [], "naive": []}
        for r in range(args.rounds):
            for name, fn in (("agentrl", agentrl_round), ("naive", naive_round)):
                root = scratch / f"{name}-{r}"
                rounds[name].append(fn(trajs, root))
                shutil.rmtree(root)
                print(f"round {r} {name}: {rounds[name][-1]}", flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    n = len(trajs)
    summary = {}
    for name, rs in rounds.items():
        summary[name] = {
            "write_traj_per_s": n / statistics.median(x["write_s"] for x in rs),
            "read_traj_per_s": n / statistics.median(x["read_s"] for x in rs),
            "bytes_on_disk": statistics.median(x["bytes"] for x in rs),
        }
    write_ratio = summary["agentrl"]["write_traj_per_s"] / summary["naive"]["write_traj_per_s"]
    read_ratio = summary["agentrl"]["read_traj_per_s"] / summary["naive"]["read_traj_per_s"]
    result = {
        "benchmark": "store",
        "ratio": min(write_ratio, read_ratio),
        "write_ratio": write_ratio,
        "read_ratio": read_ratio,
        "target_ratio": 3.0,
        "summary": summary,
        "rounds": rounds,
        "workload": {
            "env_id": ENV_ID,
            "env_kwargs": {k: list(v) for k, v in ENV_KWARGS.items()},
            "policy": "scripted expert (ExpertEngine)",
            "trajectories": n,
            "turns": sum(t.num_steps for t in trajs),
            "images": sum(len(t.images) for t in trajs),
            "prompt_tokens": sum(len(u.prompt_ids) for t in trajs for u in t.turns),
            "screenshot": list(trajs[0].images[next(iter(trajs[0].images))].shape),
        },
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "note": "medians over alternating rounds on a shared machine; agentrl commits are fsynced, naive writes are not",
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: result[k] for k in ("ratio", "write_ratio", "read_ratio", "summary")}, indent=2))


if __name__ == "__main__":
    main()
