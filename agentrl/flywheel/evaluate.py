"""The floors and the ceiling a checkpoint's held-out success is judged against (random click, best fixed
click, scripted expert). The checkpoint itself is played by agentrl.eval.episodes.greedy_success."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def baselines(task: str, train_seeds: int, eval_seeds: Sequence[int], grid_step: int) -> dict[str, Any]:
    """The floors for `task`, random click and the best fixed click (searched on training seeds 0..N-1),
    and the ceiling, the scripted expert, all scored on `eval_seeds`."""
    import envs
    from envs.baselines import (
        best_fixed_click,
        expert_policy,
        fixed_click_success,
        random_click_success,
        run_scripted_episode,
    )
    from envs.browser.manager import close_thread_browser

    try:
        search = best_fixed_click(task, range(train_seeds), grid_step=grid_step)
        fixed = fixed_click_success(task, search.point, eval_seeds)
        rand = random_click_success(task, eval_seeds)
        env = envs.make(task, text_mode="off").unwrapped
        try:
            expert = sum(run_scripted_episode(env, expert_policy, s).success for s in eval_seeds) / len(
                eval_seeds
            )
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
