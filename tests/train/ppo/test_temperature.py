"""Behaviour logprobs at a rollout temperature T != 1. The policy being trained is the one sampled from,
softmax(z / T); engines report log softmax(z / T) of the model that sampled each turn, and PPO keeps those as
its old logprobs. Multi-turn episodes with a screenshot per turn are sampled across two policy updates (turns
at versions 0, 1 and 2): each turn's old logprobs in the batch must equal the learner's log softmax(z / T)
at the version that sampled it, which after the updates the current learner no longer gives."""

from __future__ import annotations

import asyncio

import numpy as np
import torch

from agentrl.train.config import LearnerConfig, OptimConfig
from agentrl.train.group import LearnerGroup
from agentrl.train.ppo.advantages import AdvantageConfig
from agentrl.train.ppo.batch import RewardShaping, StalenessConfig, build, turn_samples
from rollout.engines.base import GenerationRequest, SamplingConfig
from rollout.engines.hf import HFEngine
from rollout.trajectory import Trajectory, Turn

T, EPISODES, VERSIONS = 0.7, 4, 3


def _user(tokenizer, text: str) -> list[int]:
    s = f"<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>{text}<|im_end|>\n<|im_start|>assistant\n"
    return tokenizer.encode(s, add_special_tokens=False)


def _screen(episode: int, turn: int) -> np.ndarray:
    return np.random.RandomState(10 * episode + turn).randint(0, 255, (56, 56, 3), dtype=np.uint8)


def _sample_turns(engine: HFEngine, trajs: list[Trajectory], k: int) -> None:
    """Turn k of every episode: the history so far, a new screenshot, a response sampled at T."""
    reqs = []
    for i, t in enumerate(trajs):
        prev = t.turns[-1] if t.turns else None
        history = prev.prompt_ids + prev.response_ids if prev else []
        refs = (prev.image_refs if prev else []) + [t.add_image(_screen(i, k))]
        reqs.append((history + _user(engine.tokenizer, f"Step {k}: click OK."), refs))

    async def run() -> list:
        sampling = SamplingConfig(max_tokens=6, temperature=T, seed=k)
        return await asyncio.gather(
            *(
                engine.generate(GenerationRequest(ids, t.images_for(refs), sampling))
                for (ids, refs), t in zip(reqs, trajs)
            )
        )

    for (ids, refs), t, r in zip(reqs, trajs, asyncio.run(run()), strict=True):
        assert r.policy_version == k
        t.turns.append(Turn(ids, r.token_ids, r.logprobs, r.text, refs, policy_version=r.policy_version))


def _update(learner: LearnerGroup, engine: HFEngine, trajs: list[Trajectory], k: int) -> None:
    """One PPO step on the turns of version k (GRPO, alternate episodes rewarded), pushed as version k + 1."""
    single = [
        Trajectory(t.env_id, 0, "", [t.turns[k]], t.images, reward=float(i % 2), terminated=True)  # one group
        for i, t in enumerate(trajs)
    ]
    for t in single:
        t.turns[0].reward = t.reward
    batch = build(single, None, AdvantageConfig(estimator="grpo"), RewardShaping(), StalenessConfig(), k)
    m = learner.train_step(
        samples=batch.samples, micro_batch_size=8, objective="ppo", extras=batch.policy_extras,
        objective_kwargs={"temperature": T},
    )  # fmt: skip
    assert m["approx_kl_sum"] < 1e-6  # the first step is on-policy: the engine's logprobs are the learner's
    asyncio.run(engine.update_weights(learner.state_dict(), k + 1))


def test_old_logprobs_are_the_behaviour_policy_at_its_version_and_temperature(tiny_model_dir):
    import agentrl.train.ppo.objectives  # noqa: F401  (registers "ppo")

    torch.manual_seed(0)
    engine = HFEngine(tiny_model_dir, max_batch_size=8)
    learner = LearnerGroup(
        str(tiny_model_dir), LearnerConfig(local=True), OptimConfig(lr=3e-3, warmup_steps=0), 4
    )
    trajs = [Trajectory("t", i, "", terminated=True) for i in range(EPISODES)]
    at_version: list[list[list[float]]] = []  # the learner's log softmax(z / T), at the version of each turn
    for k in range(VERSIONS):
        _sample_turns(engine, trajs, k)
        samples, _ = turn_samples(
            [Trajectory("t", i, "", [t.turns[k]], t.images) for i, t in enumerate(trajs)]
        )
        at_version.append(learner.logprobs(samples=samples, micro_batch_size=8, temperature=T))
        if k < VERSIONS - 1:
            _update(learner, engine, trajs, k)

    batch = build(
        trajs, None, AdvantageConfig(estimator="grpo"), RewardShaping(), StalenessConfig(), VERSIONS - 1
    )
    now = learner.logprobs(samples=batch.samples, micro_batch_size=8, temperature=T)
    raw = learner.logprobs(samples=batch.samples, micro_batch_size=8)  # T = 1
    moved = 0.0  # how far the learner moved since each turn was sampled
    for s_idx, extras in enumerate(batch.policy_extras):
        i, k = divmod(s_idx, VERSIONS)  # samples come episode by episode, turn by turn
        p = len(trajs[i].turns[k].prompt_ids)
        assert trajs[i].turns[k].prompt_ids.count(engine.image_token_id) == k + 1  # every screenshot is there
        old, want = torch.tensor(extras["old_logprobs"][p:]), torch.tensor(at_version[k][i][p:])
        torch.testing.assert_close(old, want, atol=1e-4, rtol=0)  # version k's model, at T
        assert (old - torch.tensor(raw[s_idx][p:])).abs().max() > 1e-2  # not the raw (T = 1) logprobs
        if k < VERSIONS - 1:
            moved = max(moved, float((old - torch.tensor(now[s_idx][p:])).abs().max()))
    assert moved > 1e-2  # the policy moved since: recomputing old logprobs now would lose the correction
