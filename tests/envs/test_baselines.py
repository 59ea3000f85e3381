"""Random-click and best-fixed-click baselines on the toy env and on a MiniWoB task (real Chromium)."""

from __future__ import annotations

import pytest

import envs
from envs.baselines import (
    RandomClick,
    best_fixed_click,
    expert_policy,
    fixed_click_success,
    grid,
    random_click_success,
    run_scripted_episode,
)

TOY = "agentrl/toy.click-target-v0"


def test_random_click_is_seeded_and_a_floor_below_the_expert():
    a = random_click_success(TOY, range(40), policy_seed=1)
    b = random_click_success(TOY, range(40), policy_seed=1)
    assert a == b and a.policy == "random-click" and a.episodes == 40
    env = envs.make(TOY).unwrapped
    expert = sum(run_scripted_episode(env, expert_policy, s).success for s in range(40))
    assert a.successes < expert == 40


def test_random_click_points_cover_the_screen():
    env = envs.make(TOY).unwrapped
    env.reset(seed=0)
    policy = RandomClick(seed=3)
    xs, ys = zip(*(_point(policy(env, {})) for _ in range(300)))
    assert 0 <= min(xs) < 20 and 140 <= max(xs) < 160 and 0 <= min(ys) < 20 and 140 <= max(ys) < 160


def _point(text: str) -> tuple[int, int]:
    from envs.actions import parse_action

    return parse_action(text).action.start


def test_best_fixed_click_on_the_toy_env_is_the_argmax_and_reproducible():
    seeds = range(30)
    found = best_fixed_click(TOY, seeds, grid_step=20)
    assert len(found.rates) == len(grid(160, 160, 20)) == 64
    assert found.success_rate == max(found.rates.values()) > 0
    again = fixed_click_success(TOY, found.point, seeds)
    assert again.successes == found.successes and again.episodes == 30
    assert 0 < found.success_rate < 1  # a point that ignores the screen cannot solve every seed


def test_baselines_on_a_miniwob_task():
    task = (
        "agentrl/miniwob.click-test-v0"  # one big button at a random place: a fixed point sometimes hits it
    )
    seeds = range(4)
    found = best_fixed_click(task, seeds, grid_step=40)
    assert found.point in grid(160, 210, 40) and found.successes >= 1
    assert fixed_click_success(task, found.point, seeds).successes == found.successes
    rnd = random_click_success(task, range(3), policy_seed=0)
    assert rnd.episodes == 3 and 0 <= rnd.successes <= 3


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="grid_step: must be >= 1"):
        best_fixed_click(TOY, range(3), grid_step=0)
    with pytest.raises(ValueError, match="at least one training seed"):
        best_fixed_click(TOY, [], grid_step=20)
