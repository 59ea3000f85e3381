"""PPO learns, in small: the real engine samples, the real batch builder (GRPO advantages) and the real
learner with the "ppo" objective raise the reward of a seeded one-token task, whichever half of the
vocabulary is rewarded (so the test fails if the update ignores or flips the advantage).

The task is a bandit over the tiny model's vocabulary: a response is rewarded 1 when its token id is
even. The untrained model samples about half even tokens; ten PPO updates (lr 2e-2: a bandit, not a GUI task) must bring it to >= 90%.
The multi-turn, on-env version of this evidence is benchmarks/ppo_learns.py (minutes, not seconds).
"""

from __future__ import annotations

import asyncio

import pytest
import torch

from agentrl.train.config import LearnerConfig, OptimConfig
from agentrl.train.group import LearnerGroup
from agentrl.train.ppo.advantages import AdvantageConfig
from agentrl.train.ppo.batch import RewardShaping, StalenessConfig, build
from rollout.engines.base import GenerationRequest, SamplingConfig
from rollout.engines.hf import HFEngine
from rollout.trajectory import Trajectory, Turn

BATCH, ITERATIONS = 64, 10


def _sample(engine: HFEngine, prompt: list[int], n: int, version: int) -> list[Turn]:
    sampling = SamplingConfig(max_tokens=1, temperature=1.0)

    async def all_of() -> list:
        return await asyncio.gather(
            *(engine.generate(GenerationRequest(prompt, [], sampling)) for _ in range(n))
        )

    return [
        Turn(prompt, r.token_ids, r.logprobs, r.text, [], policy_version=version)
        for r in asyncio.run(all_of())
    ]


def _train(model_dir, even_wins: bool) -> tuple[float, float]:
    """Success rate of the first and of a final batch of samples, after ITERATIONS PPO updates."""
    import agentrl.train.ppo.objectives  # noqa: F401  (registers "ppo")

    torch.manual_seed(0)
    engine = HFEngine(model_dir, max_batch_size=BATCH)
    prompt = engine.tokenizer("pick a token:")["input_ids"]
    learner = LearnerGroup(
        str(model_dir), LearnerConfig(local=True), OptimConfig(lr=2e-2, warmup_steps=0), ITERATIONS
    )
    adv = AdvantageConfig(estimator="grpo", normalize=False)

    def reward(turn: Turn) -> float:
        return float((turn.response_ids[0] % 2 == 0) == even_wins)

    rates = []
    for version in range(ITERATIONS + 1):
        turns = _sample(engine, prompt, BATCH, version)
        for t in turns:
            t.reward = reward(t)
        rates.append(sum(t.reward for t in turns) / len(turns))
        if version == ITERATIONS:
            break
        trajs = [
            Trajectory("bandit", 0, "", [t], reward=t.reward, success=t.reward > 0, terminated=True)
            for t in turns
        ]
        batch = build(trajs, None, adv, RewardShaping(), StalenessConfig(), version)
        learner.train_step(
            samples=batch.samples, micro_batch_size=16, objective="ppo", extras=batch.policy_extras,
            objective_kwargs={"eps_low": 0.2, "eps_high": 0.28},
        )  # fmt: skip
        asyncio.run(engine.update_weights(learner.state_dict(), version + 1))
    return rates[0], rates[-1]


@pytest.mark.slow
def test_ppo_raises_the_reward_whichever_half_is_rewarded(tiny_model_dir):
    first, last = _train(tiny_model_dir, even_wins=True)
    assert 0.25 < first < 0.75 and last >= 0.9, (first, last)
    # the same start, the other half rewarded: it must move the other way (not a drift toward even ids)
    first, last = _train(tiny_model_dir, even_wins=False)
    assert 0.25 < first < 0.75 and last >= 0.9, (first, last)
