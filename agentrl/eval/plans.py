"""Evaluation plans: which (env id, seed) episodes to play, in which order. Every caller builds its plan
here, so the same settings give the same episodes wherever an evaluation runs.

    task_major(["a", "b"], 2, 100)   -> (a, 100), (a, 101), (b, 100), (b, 101)   flywheel, merge search
    seed_major(["a", "b"], 2, 100)   -> (a, 100), (b, 100), (a, 101), (b, 101)   suites (`agentrl eval`)
    round_robin(["a", "b"], 3, 100)  -> (a, 100), (b, 101), (a, 102)             PPO's evaluation

task_major and seed_major play the same episodes (`episodes` seeds per task); seed-major order makes early
results cover every task. round_robin plays `episodes` in all, each on its own seed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

Episode = tuple[str, int]  # (env id, seed)
Plan = list[Episode]


def task_major(tasks: Sequence[str], episodes: int | Mapping[str, int], seed_start: int) -> Plan:
    """Seeds seed_start .. seed_start + episodes - 1 for each task, one task after the other; `episodes` per
    task when a mapping."""
    n = episodes if isinstance(episodes, Mapping) else dict.fromkeys(tasks, episodes)
    return [(task, seed_start + i) for task in tasks for i in range(n[task])]


def seed_major(tasks: Sequence[str], episodes: int, seed_start: int) -> Plan:
    """The episodes of `task_major`, every task on one seed before the next seed."""
    return [(task, seed_start + i) for i in range(episodes) for task in tasks]


def round_robin(tasks: Sequence[str], episodes: int, seed_start: int) -> Plan:
    """`episodes` episodes in all: episode i plays task i % len(tasks) on seed seed_start + i."""
    return [(tasks[i % len(tasks)], seed_start + i) for i in range(episodes)]
