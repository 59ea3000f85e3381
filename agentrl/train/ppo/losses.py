"""PPO losses as pure token-level functions. Every tensor is (B, T), aligned with the input ids; `mask`
selects response tokens (the actions). Each returns a SUM over masked tokens; the learner divides by the
global count of response tokens, so every token of the batch weighs the same (token-level PPO).
"""

from __future__ import annotations

import torch

EPS_LOW, EPS_HIGH = 0.2, 0.28  # the ratio's clip range [1 - eps_low, 1 + eps_high]: clip-higher (DAPO)


def ppo_clip_loss(
    logprobs: torch.Tensor,
    old_logprobs: torch.Tensor,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    eps_low: float = EPS_LOW,
    eps_high: float = EPS_HIGH,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Clip-higher PPO (DAPO; UI-TARS-2):
    L = -sum_t m_t min(rho_t A_t, clip(rho_t, 1 - eps_low, 1 + eps_high) A_t),  rho_t = exp(logp_t - logp_old_t)
    """
    log_ratio = (logprobs - old_logprobs) * mask
    ratio = torch.exp(log_ratio)
    pg_loss1 = -advantages * ratio
    pg_loss2 = -advantages * torch.clamp(ratio, 1.0 - eps_low, 1.0 + eps_high)
    loss = (torch.max(pg_loss1, pg_loss2) * mask).sum()
    with torch.no_grad():
        clipped = ((pg_loss2 > pg_loss1).float() * mask).sum()
        approx_kl = (((ratio - 1) - log_ratio) * mask).sum()  # k3 estimator of KL(old || new)
    return loss, {
        "pg_loss_sum": float(loss.detach()),
        "clipped_tokens": float(clipped),
        "approx_kl_sum": float(approx_kl),
    }


def value_loss(
    values: torch.Tensor,
    returns: torch.Tensor,
    mask: torch.Tensor,
    old_values: torch.Tensor | None = None,
    clip: float | None = None,
) -> tuple[torch.Tensor, dict[str, float]]:
    """L_V = 1/2 sum_t m_t (V_t - R_t)^2, optionally clipped around the old values (PPO2)."""
    err = (values - returns) ** 2
    if clip is not None and old_values is not None:
        clipped = old_values + torch.clamp(values - old_values, -clip, clip)
        err = torch.max(err, (clipped - returns) ** 2)
    loss = 0.5 * (err * mask).sum()
    return loss, {"vf_loss_sum": float(loss.detach())}


def kl_penalty(logprobs: torch.Tensor, ref_logprobs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """k3 estimator of KL(pi || pi_ref) per token, summed: exp(ref - logp) - (ref - logp) - 1 >= 0."""
    d = (ref_logprobs - logprobs) * mask
    return ((torch.exp(d) - d - 1) * mask).sum()


def explained_variance(values: torch.Tensor, returns: torch.Tensor) -> float:
    """1 - Var[R - V] / Var[R] (1 is perfect, 0 is no better than a constant)."""
    var_r = returns.var(unbiased=False)
    if var_r < 1e-12:
        return float("nan")
    return float(1 - (returns - values).var(unbiased=False) / var_r)
