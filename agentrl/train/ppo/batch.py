"""Trajectories -> PPO training samples: one sample per turn, per-token old logprobs, advantages, returns.

Environment tokens (prompts) are never actions: only response tokens carry a loss. Turns generated more
than `max_staleness` policy versions ago are dropped or down-weighted (partial rollouts span updates).
Rewards are placed on the last token of each turn, after the suite's shaping hooks.

Every episode that enters the update ends in a terminal state (UI-TARS-2: reward at the end, gamma 1):
success, an explicit failure, or running out of its step budget (`Trajectory.timed_out`), which is a failure
with reward 0 plus the configured penalties, never bootstrapped. Episodes that carry no verdict on the agent
are left out whole and counted: environment faults (`Trajectory.env_fault`), and episodes whose rewarded
turn cannot be trained on (no tokens, scripted, logprobs missing), whose return would otherwise be wrong.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import torch

from agentrl.config import StrictModel
from agentrl.data.samples import TrainSample
from agentrl.train.ppo.advantages import ESTIMATORS, AdvantageConfig, EpisodeTokens, whiten
from rollout.trajectory import Trajectory, Turn


class RewardShaping(StrictModel):
    """Per-suite hooks added to the env's reward of each turn."""

    format_penalty: float = 0.0  # added (negative) on turns whose response did not parse
    step_penalty: float = 0.0  # added (negative) on every turn: prefer shorter episodes
    timeout_penalty: float = 0.0  # added (negative) on the last turn of an episode out of its step budget


class StalenessConfig(StrictModel):
    max_staleness: int = 2  # turns older than current_version - max_staleness ...
    policy: Literal["drop", "downweight"] = "drop"  # ... are dropped, or down-weighted by 0.5**age


class BadBatch(ValueError):
    """A batch that must not be trained on (empty, no learnable turns, NaN advantages)."""


@dataclass
class PPOBatch:
    samples: list[TrainSample] = field(default_factory=list)
    policy_extras: list[dict[str, list[float]]] = field(default_factory=list)  # old_logprobs, advantages
    critic_extras: list[dict[str, list[float]]] = field(default_factory=list)  # returns, old_values
    stats: dict[str, float] = field(default_factory=dict)


def trainable(turn: Turn) -> bool:
    """A model-generated turn with tokens and one behaviour logprob per token."""
    return (
        bool(turn.response_ids) and turn.policy_version >= 0 and len(turn.logprobs) == len(turn.response_ids)
    )


def shaped_reward(t: Trajectory, j: int, shaping: RewardShaping) -> float:
    """r_j = env reward + step penalty + format penalty (unparsed) + timeout penalty (last turn, timed out)."""
    turn = t.turns[j]
    r = turn.reward + shaping.step_penalty + (shaping.format_penalty if turn.action is None else 0.0)
    return r + (shaping.timeout_penalty if t.timed_out and j == len(t.turns) - 1 else 0.0)


def exclusion(t: Trajectory, shaping: RewardShaping) -> str:
    """Why an episode is left out of the update ('' when it is trained on)."""
    if t.env_fault:
        return "env_fault"
    if not any(trainable(u) for u in t.turns):
        return "no_trainable_turn"
    if any(not trainable(u) and shaped_reward(t, j, shaping) != 0.0 for j, u in enumerate(t.turns)):
        return "reward_on_untrainable_turn"
    return ""


def select(trajs: list[Trajectory], shaping: RewardShaping) -> tuple[list[Trajectory], dict[str, float]]:
    """(the episodes to train on, counts of those left out by reason: `excluded_<reason>`)."""
    kept, counts = [], {"excluded_env_fault": 0.0, "excluded_no_trainable_turn": 0.0,
                        "excluded_reward_on_untrainable_turn": 0.0}  # fmt: skip
    for t in trajs:
        why = exclusion(t, shaping)
        if why:
            counts[f"excluded_{why}"] += 1
        else:
            kept.append(t)
    return kept, counts


def turn_samples(trajs: list[Trajectory]) -> tuple[list[TrainSample], list[tuple[int, int]]]:
    """(samples, (trajectory index, turn index)) for every trainable turn; the loss is on response tokens."""
    samples, where = [], []
    for i, t in enumerate(trajs):
        for j, turn in enumerate(t.turns):
            if trainable(turn):
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


def samples_to_value(trajs: list[Trajectory], shaping: RewardShaping) -> list[TrainSample]:
    """The samples `build` will use, in its order: what the critic's values must be computed for."""
    return turn_samples(select(trajs, shaping)[0])[0]


def _episode_tokens(
    t: Trajectory,
    turn_ids: list[int],
    values: list[list[float]] | None,
    s_ids: list[int],
    shaping: RewardShaping,
) -> EpisodeTokens:
    """The episode's response tokens: the shaped reward on each turn's last token, the critic's values sliced
    at each turn's response (V of the state before each token), terminal (no bootstrap)."""
    rewards: list[float] = []
    vals: list[float] = []
    for j, s_idx in zip(turn_ids, s_ids, strict=True):
        turn = t.turns[j]
        n, p = len(turn.response_ids), len(turn.prompt_ids)
        rewards += [0.0] * (n - 1) + [shaped_reward(t, j, shaping)]
        vals += values[s_idx][p : p + n] if values is not None else [0.0] * n
    return EpisodeTokens(torch.tensor(rewards), torch.tensor(vals), 0.0, group=f"{t.env_id}:{t.seed}")


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
    """Samples with extras aligned to their input ids. `values[i]` are the critic's values of sample i of
    `samples_to_value(trajs, shaping)` (None: no critic)."""
    kept, excluded = select(trajs, shaping)
    samples, where = turn_samples(kept)
    if not samples:
        raise BadBatch(f"no trainable episodes in the batch of {len(trajs)} ({_nonzero(excluded)})")
    layout: dict[int, list[int]] = {}  # trajectory index -> its samples, in turn order
    for s_idx, (i, _) in enumerate(where):
        layout.setdefault(i, []).append(s_idx)
    episodes = [
        _episode_tokens(kept[i], [where[s][1] for s in s_ids], values, s_ids, shaping)
        for i, s_ids in layout.items()
    ]
    advantages, returns = ESTIMATORS[adv.estimator](episodes, adv)
    if adv.normalize:
        advantages = whiten(advantages, shift_mean=adv.estimator != "grpo")
    flat = torch.cat(advantages)
    if not torch.isfinite(flat).all() or not torch.isfinite(torch.cat(returns)).all():
        raise BadBatch("NaN or infinite advantages/returns: update skipped (check rewards and the critic)")
    out = PPOBatch(samples=samples)
    for ep_i, s_ids in enumerate(layout.values()):
        _turn_extras(
            out, kept, where, s_ids, episodes[ep_i], advantages[ep_i], returns[ep_i], stale, current_version
        )
    out.stats = _stats(trajs, kept, episodes, out, flat, excluded)
    if math.isnan(out.stats["adv_std"]):
        raise BadBatch("NaN advantages: update skipped")
    return out


def _turn_extras(
    out: PPOBatch,
    kept: list[Trajectory],
    where: list[tuple[int, int]],
    s_ids: list[int],
    ep: EpisodeTokens,
    advantages: torch.Tensor,
    returns: torch.Tensor,
    stale: StalenessConfig,
    current_version: int,
) -> None:
    """Cut one episode's per-token advantages (K,), returns (K,) and values (K,) back into its turns."""
    offset = 0
    for s_idx in s_ids:
        i, j = where[s_idx]
        turn = kept[i].turns[j]
        n, p = len(turn.response_ids), len(turn.prompt_ids)
        w = _turn_weight(turn.policy_version, current_version, stale)
        a = (advantages[offset : offset + n] * w).tolist()
        ret = returns[offset : offset + n].tolist()
        old_v = ep.values[offset : offset + n].tolist()
        out.policy_extras.append(
            {"old_logprobs": [0.0] * p + list(turn.logprobs), "advantages": [0.0] * p + a}
        )
        out.critic_extras.append({"returns": [0.0] * p + ret, "old_values": [0.0] * p + old_v})
        if w == 0.0:  # dropped: no loss at all on this turn
            out.samples[s_idx].loss_mask = [0] * len(out.samples[s_idx].loss_mask)
        offset += n


def _stats(
    trajs: list[Trajectory],
    kept: list[Trajectory],
    episodes: list[EpisodeTokens],
    out: PPOBatch,
    flat: torch.Tensor,
    excluded: dict[str, float],
) -> dict[str, float]:
    ep_returns = torch.tensor([float(e.rewards.sum()) for e in episodes])
    trained = [
        a for e, s in zip(out.policy_extras, out.samples) for a, m in zip(e["advantages"], s.loss_mask) if m
    ]
    failures = [t for t in kept if not t.success]
    groups: dict[str, set[bool]] = {}
    for t in kept:
        groups.setdefault(f"{t.env_id}:{t.seed}", set()).add(t.success)
    return {
        "episodes": float(len(trajs)),
        "episodes_trained": float(len(kept)),
        **excluded,
        "turns": float(len(out.samples)),
        "reward_mean": float(ep_returns.mean()),
        "success_rate": sum(t.success for t in kept) / len(kept),
        "timeouts": float(sum(t.timed_out for t in kept)),
        "timeout_share_of_failures": sum(t.timed_out for t in failures) / len(failures) if failures else 0.0,
        "groups": float(len(groups)),
        "groups_mixed": float(sum(len(g) == 2 for g in groups.values())),
        "stale_dropped": float(sum(1 for s in out.samples if not any(s.loss_mask))),
        "response_tokens": float(flat.numel()),
        "adv_std": float(flat.std(unbiased=False)) if flat.numel() > 1 else 0.0,
        "adv_nonzero_tokens": float(sum(a != 0.0 for a in trained)),
        "reward_variance": float(ep_returns.var(unbiased=False)) if len(ep_returns) > 1 else 0.0,
    }


def _nonzero(counts: dict[str, float]) -> str:
    return ", ".join(f"{k}={v:g}" for k, v in counts.items() if v) or "no model-generated turns"


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
