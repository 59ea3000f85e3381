"""The best-fixed-click floor for every task of a suite (envs/baselines.py), one Ray task per env id.

The point is searched on training seeds 0..train_seeds-1 over a `grid_step` pixel grid, then clicked once
per episode on the suite's held-out seeds. It costs (grid points x train_seeds) episodes per task, so it is
opt-in (`--baselines random_click,expert,best_fixed_click`). Finished tasks are kept in
OUT/best_fixed_click.json and not searched again.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agentrl.config import StrictModel
from agentrl.eval.results import TaskResult
from agentrl.eval.stats import wilson

CACHE = "best_fixed_click.json"


class FixedClickSettings(StrictModel):
    train_seeds: int = 5  # seeds 0..N-1 (training seeds) the point is chosen on
    grid_step: int = 20  # pixels between candidate points
    num_cpus: float = 0.5  # per Ray task


def search_task(
    env_id: str, train_seeds: int, grid_step: int, eval_seeds: list[int], env_kwargs: dict
) -> dict:
    """Best point on training seeds, scored on `eval_seeds` (runs in a Ray worker)."""
    from envs.baselines import best_fixed_click, fixed_click_success
    from envs.browser.manager import close_thread_browser

    try:
        search = best_fixed_click(env_id, range(train_seeds), grid_step=grid_step, **env_kwargs)
        held_out = fixed_click_success(env_id, search.point, eval_seeds, **env_kwargs)
    finally:
        close_thread_browser()
    return {"point": list(search.point), "train_success": search.success_rate, "train_seeds": train_seeds,
            "grid_step": grid_step, "seeds": eval_seeds, "successes": held_out.successes}  # fmt: skip


async def run_searches(
    tasks: list[str], eval_seeds: list[int], settings: FixedClickSettings, env_kwargs: dict, out: Path
) -> dict[str, dict[str, Any]]:
    """Search every task not yet in OUT/best_fixed_click.json (for these seeds and settings), in parallel."""
    import ray

    path = out / CACHE
    cache: dict[str, dict[str, Any]] = json.loads(path.read_text()) if path.is_file() else {}

    def current(entry: dict[str, Any]) -> bool:
        return (entry["seeds"], entry["train_seeds"], entry["grid_step"]) == (
            eval_seeds, settings.train_seeds, settings.grid_step
        )  # fmt: skip

    todo = [t for t in tasks if t not in cache or not current(cache[t])]
    remote = ray.remote(num_cpus=settings.num_cpus)(search_task)
    refs = {
        t: remote.remote(t, settings.train_seeds, settings.grid_step, eval_seeds, env_kwargs) for t in todo
    }
    for task, ref in refs.items():
        cache[task] = await ref
        path.write_text(json.dumps(cache, indent=2))  # each task kept as soon as it is done
    return {t: cache[t] for t in tasks}


def task_results(found: dict[str, dict[str, Any]]) -> dict[str, TaskResult]:
    out = {}
    for task, e in found.items():
        n, k = len(e["seeds"]), e["successes"]
        out[task] = TaskResult(n, k, k / n, wilson(k, n), 1.0, 0.0, 0.0, 0, {})
    return out
