"""The GUI env contract on the toy env (no browser): gymnasium checker, errors as observations, limits."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import envs
from envs.core import ResetNeeded


def test_gymnasium_checker_passes():
    check_env(envs.make("agentrl/toy.click-target-v0").unwrapped)


def test_expert_solves_and_reward_is_binary():
    env = envs.make("agentrl/toy.click-sequence-v0")
    for seed in range(20):
        obs, info = env.reset(seed=seed)
        assert obs["screenshot"].shape == (160, 160, 3) and obs["screenshot"].dtype == np.uint8
        assert obs["instruction"].startswith("Click") and "button" in obs["text"]
        done, ret = False, 0.0
        while not done:
            obs, r, term, trunc, info = env.step(env.unwrapped.expert_action())
            ret += r
            done = term or trunc
        assert term and ret == 1.0 and info["success"] and info["raw_reward"] == 1.0


def test_malformed_action_is_reported_and_episode_continues():
    env = envs.make("agentrl/toy.click-target-v0")
    env.reset(seed=0)
    obs, r, term, trunc, info = env.step("Action: jump(height='3')")
    assert r == 0 and not term and not trunc
    assert "unknown action 'jump'" in info["action_error"]
    _, _, _, _, info = env.step("click(start_box='(500,5)')")
    assert "outside the 160x160 screen" in info["action_error"]
    _, _, _, _, info = env.step("shell(command='ls')")
    assert "shell actions are disabled" in info["action_error"]


def test_step_budget_truncates_with_reason():
    env = envs.make("agentrl/toy.click-target-v0", max_steps=3)
    env.reset(seed=1)
    for _ in range(3):
        _, _, term, trunc, info = env.step("wait()")
    assert trunc and not term and info["truncation_reason"] == "step budget exhausted"
    with pytest.raises(ResetNeeded, match="call reset"):
        env.step("wait()")


def test_finished_ends_the_episode():
    env = envs.make("agentrl/toy.click-target-v0")
    env.reset(seed=1)
    _, r, term, _, info = env.step("finished(content='done')")
    assert term and r == 0.0 and not info["success"]


def test_same_seed_same_task_other_seed_differs():
    env = envs.make("agentrl/toy.click-target-v0")
    a, _ = env.reset(seed=5)
    b, _ = env.reset(seed=5)
    c, _ = env.reset(seed=6)
    assert np.array_equal(a["screenshot"], b["screenshot"]) and a["instruction"] == b["instruction"]
    assert not np.array_equal(a["screenshot"], c["screenshot"])


@pytest.mark.parametrize("seed", [-1, 1.5, "3", True])
def test_bad_seed_is_refused(seed):
    env = envs.make("agentrl/toy.click-target-v0")
    with pytest.raises(ValueError, match="seed: must be a non-negative integer"):
        env.reset(seed=seed)


def test_unknown_id_suggests_the_closest():
    with pytest.raises(envs.UnknownEnvError, match="did you mean 'agentrl/toy.click-target-v0'"):
        envs.make("agentrl/toy.click-targe-v0")


def test_duplicate_registration_names_both_sources():
    from envs.registry import DuplicateEnvError, EnvSpec, register

    with pytest.raises(DuplicateEnvError, match="by envs.toy and by my_plugin"):
        register(EnvSpec("agentrl/toy.click-target-v0", "envs.toy.click:ToyClickEnv", "toy", "my_plugin"))


def test_text_mode_off_has_no_text_and_bad_mode_is_refused():
    env = envs.make("agentrl/toy.click-target-v0", text_mode="off")
    obs, _ = env.reset(seed=0)
    assert "text" not in obs
    with pytest.raises(ValueError, match="text_mode: 'html' is not allowed"):
        envs.make("agentrl/toy.click-target-v0", text_mode="html")
