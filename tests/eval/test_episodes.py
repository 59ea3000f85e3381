"""The one evaluation path: plan builders (the exact episodes each caller played before), per-task
summaries with Wilson intervals, and play_local with a scripted engine on the real toy env."""

from __future__ import annotations

import asyncio

import pytest

from agentrl.eval.episodes import greedy_success, local_agent, play_local
from agentrl.eval.plans import round_robin, seed_major, task_major
from agentrl.eval.results import by_task, per_task, success_by_task
from agentrl.eval.stats import wilson
from agentrl.eval.suites import Suite
from rollout.trajectory import Trajectory

from .conftest import TOY

SEQ = "agentrl/toy.click-sequence-v0"


def test_plans_order_the_same_episodes():
    assert task_major(["a", "b"], 2, 100) == [("a", 100), ("a", 101), ("b", 100), ("b", 101)]
    assert seed_major(["a", "b"], 2, 100) == [("a", 100), ("b", 100), ("a", 101), ("b", 101)]
    assert round_robin(["a", "b"], 3, 100) == [("a", 100), ("b", 101), ("a", 102)]
    assert round_robin(["a", "b"], 0, 100) == [] and task_major(["a"], 0, 5) == []
    assert task_major(["a", "b"], {"a": 1, "b": 3}, 7) == [("a", 7), ("b", 7), ("b", 8), ("b", 9)]
    suite = Suite(name="s", tasks=["a", "b", "c"], episodes_per_task=4)
    assert suite.plan() == seed_major(suite.tasks, 4, suite.seed_start)
    assert sorted(suite.plan(2)) == sorted(task_major(suite.tasks, 2, suite.seed_start))


def _traj(env_id: str, seed: int, success: bool, created_at: float = 0.0) -> Trajectory:
    t = Trajectory(env_id=env_id, seed=seed, instruction="")
    t.success, t.created_at = success, created_at
    return t


def test_by_task_counts_every_episode_with_wilson_intervals():
    trajs = [_traj("b", 1, True), _traj("a", 1, False), _traj("b", 1, False), _traj("b", 2, True)]
    res = by_task(trajs)
    assert list(res) == ["a", "b"]  # name order without `tasks`
    assert (res["b"].episodes, res["b"].successes, res["b"].ci95) == (3, 2, wilson(2, 3))
    assert res["b"].success_rate == pytest.approx(2 / 3) and res["a"].ci95 == wilson(0, 1)
    assert list(by_task(trajs, ["b", "c", "a"])) == [
        "b",
        "a",
    ]  # `tasks` order; tasks without episodes left out
    assert success_by_task(trajs, ["b", "a"]) == {"b": 2 / 3, "a": 0.0}
    # per_task (a stored evaluation) counts only the newest record of each (task, seed)
    newest = per_task([_traj("b", 1, False, 1.0), _traj("b", 1, True, 2.0)], ["b"])
    assert (newest["b"].episodes, newest["b"].successes) == (1, 1)


def test_play_local_plays_the_plan_with_a_given_engine(tiny_tokenizer):
    from rollout.engines.scripted import ExpertEngine

    plan = task_major([TOY, SEQ], 2, 1_000_000)
    seen: list[Trajectory] = []
    trajs = asyncio.run(
        play_local(ExpertEngine(tiny_tokenizer), plan, local_agent(5), 2, on_done=seen.append)
    )
    assert sorted((t.env_id, t.seed) for t in trajs) == sorted(plan) and seen == trajs
    assert all(t.success for t in trajs)
    assert greedy_success(ExpertEngine(tiny_tokenizer), [SEQ, TOY], 2, 1_000_000) == {SEQ: 1.0, TOY: 1.0}
