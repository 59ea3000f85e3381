"""PPO's policy and value objectives, registered in the learner's objective registry."""

from __future__ import annotations

import torch

from agentrl.train.batch import Batch
from agentrl.train.losses import token_entropy, token_logprobs
from agentrl.train.objectives import register_objective
from agentrl.train.ppo.losses import EPS_HIGH, EPS_LOW, kl_penalty, ppo_clip_loss, value_loss


@register_objective("ppo")
def ppo_objective(
    logits: torch.Tensor,
    batch: Batch,
    eps_low: float = EPS_LOW,
    eps_high: float = EPS_HIGH,
    kl_coef: float = 0.0,
    entropy_coef: float = 0.0,
    temperature: float = 1.0,
) -> tuple[torch.Tensor, dict[str, float]]:
    """L = L_clip + kl_coef * KL(pi || pi_ref) - entropy_coef * H   (sums over response tokens).
    The policy is the one the engine samples from, pi_T = softmax(z / T), T the rollout temperature."""
    dev = logits.device
    mask = batch.loss_mask.to(dev)
    lp = token_logprobs(logits, batch.input_ids.to(dev), temperature)
    loss, m = ppo_clip_loss(
        lp, batch.extras["old_logprobs"].to(dev), batch.extras["advantages"].to(dev), mask, eps_low, eps_high
    )
    if kl_coef > 0:
        kl = kl_penalty(lp, batch.extras["ref_logprobs"].to(dev), mask)
        loss = loss + kl_coef * kl
        m["kl_sum"] = float(kl.detach())
    if entropy_coef > 0:
        ent = (token_entropy(logits, temperature) * mask).sum()
        loss = loss - entropy_coef * ent
        m["entropy_sum"] = float(ent.detach())
    m["num_tokens"] = float(mask.sum())
    return loss, m


@register_objective("value")
def value_objective(
    values: torch.Tensor, batch: Batch, clip: float | None = None
) -> tuple[torch.Tensor, dict[str, float]]:
    dev = values.device
    mask = batch.loss_mask.to(dev)
    old = batch.extras.get("old_values")
    loss, m = value_loss(
        values, batch.extras["returns"].to(dev), mask, None if old is None else old.to(dev), clip
    )
    m["num_tokens"] = float(mask.sum())
    return loss, m
