"""A gymnasium env with image observations (MiniGrid, real, from the `minigrid` package) in agentrl's format."""

from __future__ import annotations

import numpy as np

import envs
from envs.baselines import RandomClick, expert_policy, run_scripted_episode
from envs.wrappers.minigrid import MiniGridEnv

ID = "agentrl/gym.minigrid-empty-random-6x6-v0"


def test_observation_is_the_rendered_frame_and_the_mission():
    env = envs.make(ID).unwrapped
    obs, info = env.reset(seed=3)
    assert isinstance(env, MiniGridEnv) and set(obs) == {"screenshot", "instruction"}
    assert obs["screenshot"].shape == (192, 192, 3) and obs["screenshot"].dtype == np.uint8
    assert np.array_equal(obs["screenshot"], env.inner.render())
    assert obs["instruction"] == "get to the green goal square" and info["seed"] == 3
    env.close()


def test_keys_step_the_wrapped_env_and_other_verbs_are_action_errors():
    env = envs.make(ID).unwrapped
    env.reset(seed=0)
    heading = env.inner.unwrapped.agent_dir
    obs, reward, terminated, truncated, info = env.step("Thought: turn\nAction: hotkey(key='right')")
    assert info["action_error"] == "" and env.inner.unwrapped.agent_dir == (heading + 1) % 4
    obs, reward, terminated, truncated, info = env.step("Action: hotkey(key='ArrowLeft')")
    assert env.inner.unwrapped.agent_dir == heading
    for bad in ("click(start_box='(10,10)')", "hotkey(key='q')"):
        _, reward, terminated, _, info = env.step(bad)
        assert reward == 0 and not terminated and "K one of left, right, up" in info["action_error"]
    env.close()


def test_expert_solves_every_seed_and_random_clicks_never_do():
    env = envs.make(ID).unwrapped
    expert = [run_scripted_episode(env, expert_policy, s) for s in range(8)]
    assert all(ep.success and ep.reward == 1.0 for ep in expert)
    assert all(ep.actions[-1].endswith("hotkey(key='up')") for ep in expert)
    assert 0 < env.episode_return < 1  # MiniGrid's own return is kept (discounted by steps taken)
    random = [run_scripted_episode(env, RandomClick(s), s) for s in range(3)]
    assert not any(ep.success for ep in random)
    assert all(ep.truncation_reason == "step budget exhausted" for ep in random)
    env.close()
