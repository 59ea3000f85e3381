"""Each PPO formula against a hand-computed reference."""

from __future__ import annotations

import math

import pytest
import torch

from agentrl.train.ppo.advantages import (
    AdvantageConfig,
    EpisodeTokens,
    decoupled_gae,
    gae,
    grpo,
    length_adaptive_lambda,
)
from agentrl.train.ppo.losses import explained_variance, kl_penalty, ppo_clip_loss, value_loss


def test_gae_matches_hand_computation():
    r = torch.tensor([0.0, 0.0, 1.0])
    v = torch.tensor([0.5, 0.25, 0.75])
    gamma, lam = 0.9, 0.8
    d2 = 1.0 + gamma * 0.0 - 0.75  # terminal: no bootstrap
    d1 = 0.0 + gamma * 0.75 - 0.25
    d0 = 0.0 + gamma * 0.25 - 0.5
    a2 = d2
    a1 = d1 + gamma * lam * a2
    a0 = d0 + gamma * lam * a1
    assert torch.allclose(gae(r, v, 0.0, gamma, lam), torch.tensor([a0, a1, a2]))
    # truncated: bootstrap from the estimate of the next state
    assert gae(r, v, 2.0, gamma, lam)[2] == pytest.approx(1.0 + gamma * 2.0 - 0.75)


def test_lambda_one_gives_monte_carlo_returns_and_zero_gives_td():
    r = torch.tensor([0.0, 0.5, 1.0])
    v = torch.tensor([0.3, 0.1, 0.2])
    ret = gae(r, v, 0.0, 1.0, 1.0) + v
    assert torch.allclose(ret, torch.tensor([1.5, 1.5, 1.0]))
    td = gae(r, v, 0.0, 1.0, 0.0)
    assert torch.allclose(td, torch.tensor([0.0 + 0.1 - 0.3, 0.5 + 0.2 - 0.1, 1.0 - 0.2]))


def test_decoupled_lambdas_and_length_adaptive_lambda():
    assert length_adaptive_lambda(100, 0.05) == pytest.approx(1 - 1 / 5)
    assert length_adaptive_lambda(400, 0.05) == pytest.approx(1 - 1 / 20)
    assert length_adaptive_lambda(10, 0.05) == 0.0  # clamped
    r = torch.tensor([0.0] * 99 + [1.0])
    v = torch.linspace(0, 1, 100)
    ep = EpisodeTokens(r, v)
    advs, rets = decoupled_gae([ep], AdvantageConfig(lambda_policy=None, lambda_critic=1.0))
    assert torch.allclose(advs[0], gae(r, v, 0.0, 1.0, 0.8))  # policy: 1 - 1/(0.05*100)
    assert torch.allclose(rets[0], gae(r, v, 0.0, 1.0, 1.0) + v)  # critic: lambda 1


def test_grpo_is_group_relative():
    eps = [EpisodeTokens(torch.tensor([0.0, 1.0]), torch.zeros(2), group="a"),
           EpisodeTokens(torch.tensor([0.0, 0.0]), torch.zeros(2), group="a"),
           EpisodeTokens(torch.tensor([0.0, 1.0]), torch.zeros(2), group="b")]  # fmt: skip
    advs, _ = grpo(eps, AdvantageConfig(grpo_eps=0.0))
    assert torch.allclose(advs[0], torch.tensor([1.0, 1.0]))  # (1 - 0.5) / 0.5
    assert torch.allclose(advs[1], torch.tensor([-1.0, -1.0]))
    assert torch.allclose(advs[2], torch.tensor([0.0, 0.0]))  # alone in its group


@pytest.mark.parametrize(("ratio", "adv", "expected", "clipped"), [
    (1.5, 1.0, -1.28, True),   # positive advantage: capped at 1 + eps_high
    (1.1, 1.0, -1.1, False),   # inside the range
    (0.5, 1.0, -0.5, False),   # below 1 - eps_low with A > 0: min picks the unclipped term
    (0.5, -1.0, 0.8, True),    # negative advantage: floored at 1 - eps_low
    (1.5, -1.0, 1.5, False),   # A < 0 and ratio high: the unclipped (worse) term
    (1.28, 1.0, -1.28, False),  # exactly at the boundary
])  # fmt: skip
def test_clip_higher_at_the_boundaries(ratio, adv, expected, clipped):
    lp = torch.tensor([[0.0, math.log(ratio)]])
    old = torch.zeros(1, 2)
    mask = torch.tensor([[0.0, 1.0]])
    loss, m = ppo_clip_loss(lp, old, torch.full((1, 2), adv), mask, eps_low=0.2, eps_high=0.28)
    assert float(loss) == pytest.approx(expected, abs=1e-6)
    assert m["clipped_tokens"] == float(clipped)


def test_masked_tokens_do_not_count():
    lp = torch.tensor([[5.0, 0.1]])
    loss, _ = ppo_clip_loss(lp, torch.zeros(1, 2), torch.ones(1, 2), torch.tensor([[0.0, 1.0]]))
    ref, _ = ppo_clip_loss(lp[:, 1:], torch.zeros(1, 1), torch.ones(1, 1), torch.ones(1, 1))
    assert float(loss) == pytest.approx(float(ref))


def test_value_loss_kl_and_explained_variance():
    v, r, m = torch.tensor([[1.0, 2.0]]), torch.tensor([[0.0, 4.0]]), torch.ones(1, 2)
    loss, _ = value_loss(v, r, m)
    assert float(loss) == pytest.approx(0.5 * (1 + 4))
    clipped, _ = value_loss(v, r, m, old_values=torch.tensor([[1.0, 1.0]]), clip=0.5)
    assert float(clipped) == pytest.approx(0.5 * (1 + 2.5**2))  # V_2 clipped to 1.5: (1.5-4)^2 > (2-4)^2
    assert float(kl_penalty(torch.zeros(1, 2), torch.zeros(1, 2), m)) == 0.0
    assert float(kl_penalty(torch.tensor([[0.0, -1.0]]), torch.zeros(1, 2), m)) == pytest.approx(
        math.e - 1 - 1
    )
    assert explained_variance(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 2.0])) == 1.0


def test_grpo_batch_normalisation_never_rewards_an_all_failed_group():
    """A batch of two groups: one where every episode failed over many turns, one mixed. Whitening over the
    batch's tokens would shift every advantage by the token mean (negative: the failures are longer) and so
    push the all-failed group's tokens up; GRPO is scaled only: that group keeps 0, and in the mixed group
    the success is positive and the failure negative."""
    from agentrl.train.ppo.batch import RewardShaping, StalenessConfig, build
    from rollout.trajectory import Trajectory, Turn

    def episode(seed: int, turns: int, success: bool) -> Trajectory:
        us = [Turn([1, 2], [5, 6, 7], [-0.1] * 3, "", [], reward=0.0, policy_version=0) for _ in range(turns)]
        us[-1].reward = float(success)
        return Trajectory("t", seed, "", us, reward=float(success), success=success, terminated=True)

    trajs = [episode(0, 5, False), episode(0, 5, False), episode(1, 1, True), episode(1, 5, False)]
    batch = build(trajs, None, AdvantageConfig(estimator="grpo"), RewardShaping(), StalenessConfig(), 0)
    per_turn = [e["advantages"][2] for e in batch.policy_extras]  # the first response token of each turn
    assert per_turn[:10] == [0.0] * 10  # the all-failed group: no signal
    assert per_turn[10] > 0 and all(a < 0 for a in per_turn[11:])


def test_the_entropy_bonus_raises_entropy():
    """L = L_clip - entropy_coef * H: with A = 0 the only gradient is the bonus's, and a step down that
    gradient must make the policy more uncertain (a flipped sign would sharpen it)."""
    import agentrl.train.ppo.objectives  # noqa: F401  (registers "ppo")
    from agentrl.train.batch import Batch
    from agentrl.train.losses import token_entropy
    from agentrl.train.objectives import get_objective

    torch.manual_seed(0)
    logits = (3 * torch.randn(2, 5, 11)).requires_grad_()  # (B, T, V)
    ids = torch.randint(0, 11, (2, 5))
    mask = torch.tensor([[0, 0, 1, 1, 1], [0, 1, 1, 1, 0]], dtype=torch.float32)
    zeros = torch.zeros(2, 5)
    batch = Batch(ids, torch.ones_like(ids), mask, torch.zeros_like(ids),
                  extras={"old_logprobs": zeros, "advantages": zeros})  # fmt: skip
    loss, m = get_objective("ppo")(logits, batch, entropy_coef=0.5, temperature=0.7)
    h = float((token_entropy(logits, 0.7) * mask).sum().detach())
    assert m["entropy_sum"] == pytest.approx(h) and float(loss.detach()) == pytest.approx(-0.5 * h, rel=1e-5)
    loss.backward()
    with torch.no_grad():
        stepped = logits - 0.1 * logits.grad
    assert float((token_entropy(stepped, 0.7) * mask).sum()) > h
