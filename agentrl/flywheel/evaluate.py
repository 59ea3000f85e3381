"""Success on held-out seeds: a checkpoint played greedily, and the random / best-fixed-click floors."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from agentrl.data.store import StoreWriter
from rollout.agent import AgentConfig
from rollout.engines.base import SamplingConfig
from rollout.trajectory import Trajectory


async def play(
    model: str | Path,
    episodes: Sequence[tuple[str, int]],
    parallel: int = 2,
    temperature: float = 0.0,
    max_steps: int = 5,
    writer: StoreWriter | None = None,
    on_done: Callable[[Trajectory], None] | None = None,
    agent: AgentConfig | None = None,
) -> list[Trajectory]:
    """Play `episodes` ((env id, seed) pairs) with `model` on `parallel` in-process envs sharing one HF
    engine (it batches their requests); every trajectory goes to `writer` when given. `agent`: how the
    episode is shown to the model (default: AgentConfig's); its sampling and max_steps are set here."""
    import torch

    from rollout.engines.hf import HFEngine
    from rollout.episode import run_episode
    from rollout.local_env import LocalEnv

    gpu = torch.cuda.is_available()
    engine = HFEngine(model, dtype="bfloat16" if gpu else "float32", device="cuda" if gpu else "cpu")
    sampling = SamplingConfig(temperature=temperature, max_tokens=40)
    cfg = (agent or AgentConfig()).model_copy(update={"max_steps": max_steps, "sampling": sampling})
    queue = list(reversed(episodes))
    out: list[Trajectory] = []

    async def worker(env: LocalEnv) -> None:
        while queue:
            env_id, seed = queue.pop()
            t = await run_episode(engine, env, engine.tokenizer, cfg, env_id, seed)
            out.append(t)
            if writer is not None:
                writer.add(t)
            if on_done:
                on_done(t)

    pool = [LocalEnv() for _ in range(max(1, parallel))]
    try:
        await asyncio.gather(*[worker(e) for e in pool])
    finally:
        for e in pool:
            e.close()
    return out


def success_by_task(trajectories: Sequence[Trajectory]) -> dict[str, float]:
    wins: dict[str, list[int]] = {}
    for t in trajectories:
        wins.setdefault(t.env_id, []).append(int(t.success))
    return {k: sum(v) / len(v) for k, v in sorted(wins.items())}


def held_out(tasks: Sequence[str], episodes: int, seed_start: int) -> list[tuple[str, int]]:
    return [(task, seed_start + i) for task in tasks for i in range(episodes)]


def evaluate(
    model: str | Path,
    tasks: Sequence[str],
    episodes: int,
    seed_start: int,
    parallel: int = 2,
    max_steps: int = 5,
) -> dict[str, float]:
    """Greedy success rate per task on seeds seed_start.. (held out from training)."""
    episodes_ = held_out(tasks, episodes, seed_start)
    return success_by_task(asyncio.run(play(model, episodes_, parallel, max_steps=max_steps)))


def baselines(task: str, train_seeds: int, eval_seeds: Sequence[int], grid_step: int) -> dict[str, Any]:
    """The floors for `task`, random click and the best fixed click (searched on training seeds 0..N-1),
    and the ceiling, the scripted expert, all scored on `eval_seeds`."""
    import envs
    from envs.baselines import (
        best_fixed_click,
        expert_policy,
        fixed_click_success,
        random_click_success,
        run_episode,
    )
    from envs.browser.manager import close_thread_browser

    try:
        search = best_fixed_click(task, range(train_seeds), grid_step=grid_step)
        fixed = fixed_click_success(task, search.point, eval_seeds)
        rand = random_click_success(task, eval_seeds)
        env = envs.make(task, text_mode="off").unwrapped
        try:
            expert = sum(run_episode(env, expert_policy, s).success for s in eval_seeds) / len(eval_seeds)
        finally:
            env.close()
    finally:
        close_thread_browser()  # Playwright's sync API marks its loop running on this thread until closed
    return {
        "random_click": rand.success_rate,
        "best_fixed_click": fixed.success_rate,
        "best_fixed_point": list(search.point),
        "expert": expert,
    }
