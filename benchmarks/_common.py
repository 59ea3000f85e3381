"""Shared by the benchmark scripts: paths, and an SFT'd tiny model built with agentrl's own commands."""

from __future__ import annotations

import asyncio
import hashlib
import os
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / "work"  # git-ignored scratch space
RESULTS = ROOT / "benchmarks" / "results"


def status_kb(key: str) -> int:
    """A kB field of this process's /proc/self/status (VmRSS, VmHWM: peak resident set, VmSize), 0 if absent."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def machine() -> str:
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, no GPU"
        if not _cuda()
        else f"{platform.machine()}, GPU"
    )


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def build_sft_model(steps: int, task: str | list[str], demos: int = 3000, name: str | None = None) -> Path:
    """The tiny model, SFT'd on scripted-expert demonstrations of `task`, or of a task mix with the demos
    dealt round-robin over its tasks (`name` then names the mix); reused when already built."""
    from agentrl.data.store import StoreWriter, TrajectoryStore
    from agentrl.models.factory import init_model
    from agentrl.models.loading import load_processor
    from rollout.agent import AgentConfig
    from rollout.engines.scripted import ExpertEngine
    from rollout.episode import run_episode
    from rollout.local_env import LocalEnv

    tasks = [task] if isinstance(task, str) else list(task)
    name = name or tasks[0].split("/")[-1]
    base = init_model("tiny", WORK / "tiny", seed=0)
    # demos and models are keyed by the tokenizer: a store recorded with an older vocabulary must never
    # meet a newer base (token ids mean other words)
    vocab = hashlib.sha1((base / "tokenizer.json").read_bytes()).hexdigest()[:8]
    out = WORK / "sft" / f"{name}-{steps}-{vocab}"
    if (out / "final" / "COMPLETE").exists():
        return out / "final"
    tok = load_processor(base).tokenizer
    store = WORK / "sft" / f"store-{name}-{vocab}"

    async def make_demos() -> None:
        env = LocalEnv()
        with StoreWriter(TrajectoryStore(store), "demos", 0) as w:
            for seed in range(demos):
                env_id = tasks[seed % len(tasks)]
                w.add(
                    await run_episode(ExpertEngine(tok), env, tok, AgentConfig(), env_id, seed // len(tasks))
                )
        env.close()

    if not store.exists():
        asyncio.run(make_demos())
    subprocess.run(
        [
            sys.executable,
            "-m",
            "agentrl",
            "train",
            "sft",
            f"model={base}",
            f"data.store={store}",
            f"output_dir={out}",
            f"steps={steps}",
            "learner.local=true",
            "optim.lr=2e-3",
            "optim.warmup_steps=10",
            "log_every=50",
        ],
        check=True,
    )
    return out / "final"
