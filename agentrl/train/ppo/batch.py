"""Trajectories -> PPO training samples: one sample per turn, per-token old logprobs, advantages, returns.

Environment tokens (prompts) are never actions: only response tokens carry a loss. Turns generated more
than `max_staleness` policy versions ago are dropped or down-weighted (partial rollouts span updates).
Rewards are placed on the last token of each turn, after the suite's shaping hooks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from agentrl.config import StrictModel
from agentrl.data.samples import TrainSample
from agentrl.train.ppo.advantages import ESTIMATORS, AdvantageConfig, EpisodeTokens, whiten
from rollout.trajectory import Trajectory


class RewardShaping(StrictModel):
    """Per-suite hooks added to the env's reward of each turn."""

    format_penalty: float = 0.0  # added (negative) on turns whose response did not parse
    step_penalty: float = 0.0  # added (negative) on every turn: prefer shorter episodes


class StalenessConfig(StrictModel):
    max_staleness: int = 2  # turns older than current_version - max_staleness ...
    policy: str = "drop"  # ... are dropped ("drop") or down-weighted by 0.5**age ("downweight")


class BadBatch(ValueError):
    """A batch that must not be trained on (empty, no learnable turns, NaN advantages)."""


@dataclass
class PPOBatch:
    samples: list[TrainSample] = field(default_factory=list)
    policy_extras: list[dict[str, list[float]]] = field(default_factory=list)  # old_logprobs, advantages
    critic_extras: list[dict[str, list[float]]] = field(default_factory=list)  # returns, old_values
    stats: dict[str, float] = field(default_factory=dict)


def turn_samples(trajs: list[Trajectory]) -> tuple[list[TrainSample], list[tuple[int, int]]]:
    """(samples, (trajectory index, turn index)) for every model-generated turn with tokens."""
    samples, where = [], []
    for i, t in enumerate(trajs):
        for j, turn in enumerate(t.turns):
            if (
                turn.response_ids
                and turn.policy_version >= 0
                and len(turn.logprobs) == len(turn.response_ids)
            ):
                samples.append(
                    TrainSample(
                        list(turn.prompt_ids) + list(turn.response_ids),
                        [0] * len(turn.prompt_ids) + [1] * len(turn.response_ids),
                        t.turn_images(turn),
                        "rl",
                        t.id,
                    )
                )
                where.append((i, j))
    return samples, where


def _turn_weight(version: int, current: int, cfg: StalenessConfig) -> float:
    age = current - version
    if age <= cfg.max_staleness:
        return 1.0
    return 0.0 if cfg.policy == "drop" else 0.5**age


def build(
    trajs: list[Trajectory],
    values: list[list[float]] | None,
    adv: AdvantageConfig,
    shaping: RewardShaping,
    stale: StalenessConfig,
    current_version: int,
) -> PPOBatch:
    """Samples with extras aligned to their input ids. `values[i]` are the critic's values of sample i."""
    trajs = [t for t in trajs if t.status == "ok" and t.turns]
    samples, where = turn_samples(trajs)
    if not samples:
        raise BadBatch("no model-generated turns in the batch (empty, errored or scripted episodes only)")
    by_traj: dict[int, list[int]] = {}
    for s_idx, (i, _) in enumerate(where):
        by_traj.setdefault(i, []).append(s_idx)
    episodes, layout = [], []
    for i, s_ids in by_traj.items():
        t = trajs[i]
        rewards, vals = [], []
        for s_idx in s_ids:
            turn = t.turns[where[s_idx][1]]
            n = len(turn.response_ids)
            r = turn.reward + shaping.step_penalty + (shaping.format_penalty if turn.action is None else 0.0)
            rewards += [0.0] * (n - 1) + [r]
            p = len(turn.prompt_ids)
            vals += values[s_idx][p : p + n] if values is not None else [0.0] * n
        v = torch.tensor(vals, dtype=torch.float32)
        bootstrap = float(v[-1]) if t.truncated and not t.terminated else 0.0
        episodes.append(EpisodeTokens(torch.tensor(rewards), v, bootstrap, group=f"{t.env_id}:{t.seed}"))
        layout.append(s_ids)
    advantages, returns = ESTIMATORS[adv.estimator](episodes, adv)
    if adv.normalize:
        advantages = whiten(advantages, shift_mean=adv.estimator != "grpo")
    flat = torch.cat(advantages)
    if not torch.isfinite(flat).all() or not torch.isfinite(torch.cat(returns)).all():
        raise BadBatch("NaN or infinite advantages/returns: update skipped (check rewards and the critic)")
    out = PPOBatch(samples=samples)
    for ep_i, s_ids in enumerate(layout):
        offset = 0
        for s_idx in s_ids:
            i, j = where[s_idx]
            turn = trajs[i].turns[j]
            n, p = len(turn.response_ids), len(turn.prompt_ids)
            w = _turn_weight(turn.policy_version, current_version, stale)
            a = (advantages[ep_i][offset : offset + n] * w).tolist()
            ret = returns[ep_i][offset : offset + n].tolist()
            old_v = episodes[ep_i].values[offset : offset + n].tolist()
            out.policy_extras.append(
                {"old_logprobs": [0.0] * p + list(turn.logprobs), "advantages": [0.0] * p + a}
            )
            out.critic_extras.append({"returns": [0.0] * p + ret, "old_values": [0.0] * p + old_v})
            if w == 0.0:  # dropped: no loss at all on this turn
                samples[s_idx].loss_mask = [0] * len(samples[s_idx].loss_mask)
            offset += n
    ep_returns = [float(e.rewards.sum()) for e in episodes]
    out.stats = {
        "episodes": float(len(trajs)),
        "turns": float(len(samples)),
        "reward_mean": sum(ep_returns) / len(ep_returns),
        "success_rate": sum(t.success for t in trajs) / len(trajs),
        "stale_dropped": float(sum(1 for s in samples if not any(s.loss_mask))),
        "response_tokens": float(flat.numel()),
        "adv_std": float(flat.std(unbiased=False)) if flat.numel() > 1 else 0.0,
        "reward_variance": float(torch.tensor(ep_returns).var(unbiased=False))
        if len(ep_returns) > 1
        else 0.0,
    }
    if math.isnan(out.stats["adv_std"]):
        raise BadBatch("NaN advantages: update skipped")
    return out


def explained_variance_of(batch: PPOBatch) -> float:
    from agentrl.train.ppo.losses import explained_variance

    v = [
        x
        for e, s in zip(batch.critic_extras, batch.samples)
        for x, m in zip(e["old_values"], s.loss_mask)
        if m
    ]
    r = [
        x for e, s in zip(batch.critic_extras, batch.samples) for x, m in zip(e["returns"], s.loss_mask) if m
    ]
    return explained_variance(torch.tensor(v), torch.tensor(r)) if v else float("nan")
