"""Advantage estimators over an episode's response tokens, as pure functions (UI-TARS-2, Sec. RL).

An episode is the concatenation of every turn's response tokens, k = 0..K-1 (environment tokens are not
actions and are left out). Rewards sit on the last token of each turn; values V_k come from the critic.

    delta_k = r_k + gamma * V_{k+1} - V_k
    A_k     = delta_k + gamma * lambda * A_{k+1}                 (GAE, Schulman et al. 2016)
    R_k     = A_k(lambda_critic) + V_k                            (value targets)

Decoupled GAE uses lambda_policy for the advantages and lambda_critic for the value targets;
length-adaptive GAE sets lambda_policy = 1 - 1 / (alpha * l) with l the episode's response length.
GRPO (Shao et al. 2024) needs no critic: A = (R - mean(R_group)) / (std(R_group) + eps) on every token.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from pydantic import field_validator

from agentrl.config import StrictModel


class AdvantageConfig(StrictModel):
    estimator: str = "gae"  # a name in ESTIMATORS: gae | grpo (checked when the config loads)
    gamma: float = 1.0
    lambda_policy: float | None = None  # None: length-adaptive 1 - 1/(alpha * l)
    lambda_critic: float = 1.0
    alpha: float = 0.05  # length-adaptive GAE
    normalize: bool = True  # whiten advantages over the batch
    grpo_eps: float = 1e-6

    @field_validator("estimator")
    @classmethod
    def _known(cls, v: str) -> str:
        if v not in ESTIMATORS:
            raise ValueError(f"unknown estimator '{v}'; registered: {', '.join(sorted(ESTIMATORS))}")
        return v


@dataclass
class EpisodeTokens:
    rewards: torch.Tensor  # (K,) reward on each response token (non-zero at turn ends)
    values: torch.Tensor  # (K,) V_k, state before emitting token k
    bootstrap: float = 0.0  # V after the last token: 0 at a terminal state (every episode PPO trains on)
    group: str = ""  # GRPO: episodes of the same task form a group

    @property
    def length(self) -> int:
        return int(self.rewards.numel())


def gae(
    rewards: torch.Tensor, values: torch.Tensor, bootstrap: float, gamma: float, lam: float
) -> torch.Tensor:
    """A_k = sum_j (gamma*lam)^j delta_{k+j}.  rewards, values (K,) -> advantages (K,)."""
    k = rewards.numel()
    next_values = torch.cat([values[1:], values.new_tensor([bootstrap])])  # (K,)
    deltas = rewards + gamma * next_values - values  # (K,)
    adv = torch.zeros_like(deltas)
    lastgaelam = 0.0
    for t in reversed(range(k)):
        lastgaelam = deltas[t] + gamma * lam * lastgaelam
        adv[t] = lastgaelam
    return adv


def length_adaptive_lambda(length: int, alpha: float) -> float:
    """lambda_policy = 1 - 1/(alpha * l), clamped to [0, 1]."""
    return min(1.0, max(0.0, 1.0 - 1.0 / (alpha * max(length, 1))))


Estimator = Callable[[list[EpisodeTokens], AdvantageConfig], tuple[list[torch.Tensor], list[torch.Tensor]]]
ESTIMATORS: dict[str, Estimator] = {}


def register_estimator(name: str) -> Callable[[Estimator], Estimator]:
    def deco(fn: Estimator) -> Estimator:
        if name in ESTIMATORS:
            raise ValueError(f"advantage estimator '{name}' is already registered")
        ESTIMATORS[name] = fn
        return fn

    return deco


@register_estimator("gae")
def decoupled_gae(
    episodes: list[EpisodeTokens], cfg: AdvantageConfig
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """(advantages with lambda_policy, value targets with lambda_critic) per episode."""
    advs, rets = [], []
    for ep in episodes:
        lam_p = (
            cfg.lambda_policy
            if cfg.lambda_policy is not None
            else length_adaptive_lambda(ep.length, cfg.alpha)
        )
        advs.append(gae(ep.rewards, ep.values, ep.bootstrap, cfg.gamma, lam_p))
        rets.append(gae(ep.rewards, ep.values, ep.bootstrap, cfg.gamma, cfg.lambda_critic) + ep.values)
    return advs, rets


@register_estimator("grpo")
def grpo(
    episodes: list[EpisodeTokens], cfg: AdvantageConfig
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """A_i = (R_i - mean_group R) / (std_group R + eps), the same on every token; no value targets."""
    returns = {id(ep): float(ep.rewards.sum()) for ep in episodes}
    groups: dict[str, list[float]] = {}
    for ep in episodes:
        groups.setdefault(ep.group, []).append(returns[id(ep)])
    advs = []
    for ep in episodes:
        g = torch.tensor(groups[ep.group])
        std = float(g.std(unbiased=False)) if g.numel() > 1 else 0.0
        a = (
            (returns[id(ep)] - float(g.mean())) / (std + cfg.grpo_eps) if std > 0 else 0.0
        )  # no spread, no signal
        advs.append(torch.full_like(ep.rewards, a))
    return advs, [torch.zeros_like(ep.rewards) for ep in episodes]


def whiten(advs: list[torch.Tensor], eps: float = 1e-8, shift_mean: bool = True) -> list[torch.Tensor]:
    """A <- (A - mean) / std over the whole batch of tokens (shift_mean=False: A / std only).

    GRPO's advantages are zero-mean per group already, and a token mean over the batch is dominated by
    long episodes (failures run more turns): shifting by it would hand every token of an all-failed group
    (A = 0) a positive advantage, i.e. reinforce failure. GRPO is therefore only scaled."""
    flat = torch.cat(advs)
    if flat.numel() < 2:
        return advs
    mean, std = (flat.mean() if shift_mean else 0.0), flat.std(unbiased=False)
    return [(a - mean) / (std + eps) for a in advs]
