"""The path from trajectories to the loss inputs (`batch.build`), on hand-built multi-turn episodes with
images: which tokens are trained, where rewards and values land, what a timeout is worth, who is left out."""

from __future__ import annotations

import numpy as np
import pytest

from agentrl.train.ppo.advantages import AdvantageConfig
from agentrl.train.ppo.batch import RewardShaping, StalenessConfig, build, samples_to_value, turn_samples
from rollout.trajectory import Trajectory, Turn

IMG = 99  # stands for <|image_pad|>: build never expands images, it passes them along with the sample
EXACT = AdvantageConfig(estimator="gae", gamma=1.0, lambda_policy=1.0, lambda_critic=1.0, normalize=False)


def _image(v: int) -> np.ndarray:
    return np.full((4, 4, 3), v, dtype=np.uint8)


def two_turns(rewards: tuple[float, float], versions: tuple[int, int] = (3, 3), **end) -> Trajectory:
    """Turn 0: prompt [1, IMG, 2] + response [5, 6]; turn 1: the whole history + a second screenshot, then
    response [7, 8, 9]."""
    t = Trajectory("agentrl/toy.click-target-v0", 7, "click ok", **end)
    a, b = t.add_image(_image(1)), t.add_image(_image(2))
    t.turns = [
        Turn([1, IMG, 2], [5, 6], [-0.5, -0.6], "x", [a], reward=rewards[0], policy_version=versions[0]),
        Turn([1, IMG, 2, 5, 6, 3, IMG, 4], [7, 8, 9], [-0.1, -0.2, -0.3], "y", [a, b], reward=rewards[1],
             policy_version=versions[1]),
    ]  # fmt: skip
    t.reward = sum(rewards)
    return t


def timed_out() -> Trajectory:
    return two_turns((0.0, 0.0), (2, 3), truncated=True, reason="step budget exhausted")


def succeeded() -> Trajectory:
    return two_turns((0.5, 1.0), terminated=True, success=True)


def critic_values(trajs: list[Trajectory]) -> list[list[float]]:
    """Distinct values per position: sample i, position k -> 100 * i + k (the state before token k)."""
    return [
        [100.0 * i + k for k in range(len(s.input_ids))]
        for i, s in enumerate(samples_to_value(trajs, RewardShaping()))
    ]


def test_turn_samples_train_on_response_tokens_only_with_the_turns_images():
    t = timed_out()
    samples, where = turn_samples([t])
    assert where == [(0, 0), (0, 1)]
    for s, u in zip(samples, t.turns, strict=True):
        assert s.input_ids == u.prompt_ids + u.response_ids
        assert s.loss_mask == [0] * len(u.prompt_ids) + [1] * len(u.response_ids)  # prompts are the env's
        assert len(s.images) == u.prompt_ids.count(IMG)
        assert all(np.array_equal(x, t.images[r]) for x, r in zip(s.images, u.image_refs, strict=True))


def test_a_step_budget_timeout_is_a_terminal_failure_with_advantages_minus_v():
    trajs = [timed_out()]
    batch = build(trajs, critic_values(trajs), EXACT, RewardShaping(), StalenessConfig(), 3)
    # V of the response tokens: sample 0 at positions 3, 4; sample 1 at positions 8, 9, 10
    v = [[3.0, 4.0], [108.0, 109.0, 110.0]]
    for extras, crit, vs, p in zip(batch.policy_extras, batch.critic_extras, v, (3, 8), strict=True):
        assert crit["old_values"] == [0.0] * p + vs
        # reward 0, gamma = lambda = 1, no bootstrap: A_k = 0 - V_k, R_k = 0 (not the last V, as before)
        assert extras["advantages"] == pytest.approx([0.0] * p + [-x for x in vs])
        assert crit["returns"] == pytest.approx([0.0] * (p + len(vs)))
    assert batch.stats["timeouts"] == 1 and batch.stats["timeout_share_of_failures"] == 1.0


def test_rewards_sit_on_the_last_token_of_their_turn():
    trajs = [succeeded()]
    batch = build(trajs, critic_values(trajs), EXACT, RewardShaping(), StalenessConfig(), 3)
    r0, r1 = (e["returns"] for e in batch.critic_extras)
    assert r0[3:] == pytest.approx([1.5, 1.5])  # 0.5 at the end of turn 0, then 1.0 at the end of turn 1
    assert r1[8:] == pytest.approx([1.0, 1.0, 1.0])
    a1 = batch.policy_extras[1]["advantages"]
    assert a1[8:] == pytest.approx([1.0 - 108, 1.0 - 109, 1.0 - 110])
    assert [e["old_logprobs"] for e in batch.policy_extras] == [
        [0.0] * 3 + [-0.5, -0.6],
        [0.0] * 8 + [-0.1, -0.2, -0.3],
    ]  # the engine's behaviour logprobs, untouched


@pytest.mark.parametrize("policy", ["drop", "downweight"])
def test_stale_turns_are_dropped_or_down_weighted(policy):
    trajs = [timed_out()]  # turn 0 sampled at version 2, turn 1 at 3; now at 3, at most 0 versions old
    stale = StalenessConfig(max_staleness=0, policy=policy)
    batch = build(trajs, critic_values(trajs), EXACT, RewardShaping(), stale, 3)
    fresh = build(trajs, critic_values(trajs), EXACT, RewardShaping(), StalenessConfig(), 3)
    a, want = batch.policy_extras[0]["advantages"], fresh.policy_extras[0]["advantages"]
    if policy == "drop":
        assert not any(batch.samples[0].loss_mask) and batch.stats["stale_dropped"] == 1
    else:
        assert a == pytest.approx([0.5 * x for x in want])  # 0.5 ** age, age 1
    assert batch.policy_extras[1] == fresh.policy_extras[1] and any(batch.samples[1].loss_mask)


def test_env_faults_and_lost_rewards_leave_their_episode_out_and_are_counted():
    fault = two_turns((0.0, 0.0), truncated=True, reason="page never became ready")
    aborted = two_turns((0.0, 0.0), status="aborted", reason="env worker died")
    scripted = two_turns((0.0, 1.0), (3, -1), terminated=True, success=True)  # its rewarded turn is scripted
    trajs = [fault, timed_out(), aborted, succeeded(), scripted]
    assert fault.env_fault and not fault.timed_out and trajs[1].timed_out and not trajs[1].env_fault
    batch = build(trajs, critic_values(trajs), EXACT, RewardShaping(), StalenessConfig(), 3)
    assert len(batch.samples) == 4 and {s.source for s in batch.samples} == {trajs[1].id, trajs[3].id}
    assert batch.stats["excluded_env_fault"] == 2
    assert batch.stats["excluded_reward_on_untrainable_turn"] == 1
    assert batch.stats["episodes_trained"] == 2 and batch.stats["success_rate"] == 0.5


def test_timeout_penalty_lands_on_the_last_turn_of_a_timed_out_episode():
    trajs = [timed_out()]
    batch = build(trajs, None, EXACT, RewardShaping(timeout_penalty=-1.0), StalenessConfig(), 3)
    assert batch.critic_extras[0]["returns"][3:] == pytest.approx([-1.0, -1.0])
    assert batch.critic_extras[1]["returns"][8:] == pytest.approx([-1.0, -1.0, -1.0])
