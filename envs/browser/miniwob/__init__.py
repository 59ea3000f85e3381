"""MiniWoB++ on agentrl's browser env: every task page of the `miniwob` package as
`agentrl/miniwob.<task>-v0`, with scripted experts for a subset.

tasks.py    the task pages (found without importing `miniwob`), per-task step budgets
env.py      MiniWoBEnv: core.js-driven resets on a reused page, reward from core.js's globals
experts/    scripted experts: DOM knowledge in, UI-TARS action text with screen coordinates out
"""

from __future__ import annotations


def register_all() -> None:
    """Register one id per task page; entry points are strings, so nothing heavy is imported."""
    from envs.browser.miniwob.experts import expert_tasks
    from envs.browser.miniwob.tasks import env_id, task_names
    from envs.registry import EnvSpec, register

    with_expert = set(expert_tasks())
    for task in task_names():
        register(
            EnvSpec(
                id=env_id(task),
                entry_point="envs.browser.miniwob.env:MiniWoBEnv",
                kind="browser",
                source="envs.browser.miniwob",
                kwargs={"task": task},
                has_expert=task in with_expert,
                tags=("miniwob",),
            )
        )
