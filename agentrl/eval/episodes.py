"""The one evaluation path: a policy plays a plan of (env id, seed) episodes and returns its trajectories.

    plan (agentrl.eval.plans) --> play_local     (in-process envs sharing one engine)  --> trajectories
                              \\-> play_collector (Ray env workers of a rollout Collector) -/
    trajectories --> agentrl.eval.results.by_task / success_by_task (counts, rates, Wilson 95% intervals)

Every episode is rollout.episode.run_episode. `play_local` serves the flywheel (rejection sampling, held-out
success) and the merge search; `play_collector` serves PPO's evaluation and `agentrl eval`. Both hand each
trajectory to `writer` (a StoreWriter) and `on_done` as it finishes, in completion order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentrl.eval.plans import task_major
from agentrl.eval.results import success_by_task
from rollout.agent import AgentConfig
from rollout.engines.base import SamplingConfig
from rollout.episode import EngineLike
from rollout.trajectory import Trajectory

if TYPE_CHECKING:
    from agentrl.data.store import StoreWriter
    from rollout.collector import Collector
    from rollout.engines.hf import HFEngine

MAX_TOKENS = 40  # per turn in local play: an action is one short line of thought and one call

OnDone = Callable[[Trajectory], None]


def local_agent(max_steps: int, temperature: float = 0.0, agent: AgentConfig | None = None) -> AgentConfig:
    """`agent` (default: AgentConfig's) with its step budget and sampling (MAX_TOKENS per turn) set."""
    sampling = SamplingConfig(temperature=temperature, max_tokens=MAX_TOKENS)
    return (agent or AgentConfig()).model_copy(update={"max_steps": max_steps, "sampling": sampling})


def hf_engine(model: str | Path) -> HFEngine:
    """An in-process HF engine for `model`: bfloat16 on the GPU when there is one, else float32 on the CPU."""
    import torch

    from rollout.engines.hf import HFEngine

    gpu = torch.cuda.is_available()
    return HFEngine(model, dtype="bfloat16" if gpu else "float32", device="cuda" if gpu else "cpu")


async def play_local(
    policy: str | Path | EngineLike,
    plan: Sequence[tuple[str, int]],
    agent: AgentConfig,
    parallel: int = 2,
    writer: StoreWriter | None = None,
    on_done: OnDone | None = None,
) -> list[Trajectory]:
    """Play `plan` on `parallel` in-process envs (rollout.local_env) sharing one engine, which batches their
    requests. `policy`: a model path (loaded with `hf_engine`, shut down at the end) or an engine with a
    `tokenizer` (the caller's to shut down). Envs take the plan's episodes in order as they free up."""
    from rollout.episode import run_episode
    from rollout.local_env import LocalEnv

    engine = hf_engine(policy) if isinstance(policy, str | Path) else policy
    queue = list(reversed(plan))
    out: list[Trajectory] = []

    async def worker(env: LocalEnv) -> None:
        while queue:
            env_id, seed = queue.pop()
            t = await run_episode(engine, env, engine.tokenizer, agent, env_id, seed)
            _done(t, out, writer, on_done)

    pool = [LocalEnv() for _ in range(max(1, parallel))]
    try:
        await asyncio.gather(*[worker(e) for e in pool])
    finally:
        if engine is not policy:
            await engine.shutdown()
        for e in pool:
            e.close()
    return out


async def play_collector(
    collector: Collector,
    plan: Sequence[tuple[str, int]],
    writer: StoreWriter | None = None,
    on_done: OnDone | None = None,
    meta: dict[str, Any] | None = None,
    keep: bool = True,
) -> list[Trajectory]:
    """Play `plan` with `collector` (its engine, agent and Ray env workers); `meta` goes into every
    trajectory. `keep=False` returns nothing (a long evaluation that streams to `writer` need not hold
    every screenshot)."""
    out: list[Trajectory] = []
    async for t in collector.stream(list(plan), meta=meta):
        _done(t, out if keep else None, writer, on_done)
    return out


def greedy_success(
    policy: str | Path | EngineLike,
    tasks: Sequence[str],
    episodes: int | Mapping[str, int],
    seed_start: int,
    parallel: int = 2,
    max_steps: int = 5,
) -> dict[str, float]:
    """Greedy success rate per task (in `tasks` order) on seeds seed_start .. seed_start + episodes - 1
    of every task (the task-major plan; `episodes` per task when a mapping), played locally: the held-out
    score of the flywheel and the merge search."""
    plan = task_major(tasks, episodes, seed_start)
    return success_by_task(asyncio.run(play_local(policy, plan, local_agent(max_steps), parallel)), tasks)


def _done(
    t: Trajectory, out: list[Trajectory] | None, writer: StoreWriter | None, on_done: OnDone | None
) -> None:
    if out is not None:
        out.append(t)
    if writer is not None:
        writer.add(t)
    if on_done is not None:
        on_done(t)
