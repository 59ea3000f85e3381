"""PPO at a rollout temperature T != 1: the policy being trained is the one sampled from, softmax(z / T).
Engines report raw logprobs (T = 1), so the loop recomputes the old logprobs with the learner at T; this test
checks that those equal log softmax(z / T) of the model's own forward, that the first PPO step is then exactly
on-policy (ratio 1: no KL, no clipping), and that raw logprobs at T != 1 would not be (what the loop avoids)."""

from __future__ import annotations

import asyncio

import torch

from agentrl.train.config import LearnerConfig, OptimConfig
from agentrl.train.group import LearnerGroup
from agentrl.train.ppo.advantages import AdvantageConfig
from agentrl.train.ppo.batch import RewardShaping, StalenessConfig, build
from rollout.engines.base import GenerationRequest, SamplingConfig
from rollout.engines.hf import HFEngine
from rollout.trajectory import Trajectory, Turn

T = 0.5


def test_old_logprobs_at_the_rollout_temperature_make_the_first_step_on_policy(tiny_model_dir):
    import agentrl.train.ppo.objectives  # noqa: F401  (registers "ppo")

    torch.manual_seed(0)
    engine = HFEngine(tiny_model_dir, max_batch_size=8)
    prompt = engine.tokenizer("Thought: I click the button.\nAction:")["input_ids"]
    sampling = SamplingConfig(max_tokens=6, temperature=T)

    async def sample() -> list:
        return await asyncio.gather(
            *(engine.generate(GenerationRequest(prompt, [], sampling)) for _ in range(8))
        )

    turns = [
        Turn(prompt, r.token_ids, r.logprobs, r.text, [], policy_version=0) for r in asyncio.run(sample())
    ]
    trajs = [
        Trajectory("t", 0, "", [u], reward=float(i % 2), success=bool(i % 2), terminated=True)
        for i, u in enumerate(turns)
    ]
    batch = build(trajs, None, AdvantageConfig(estimator="grpo"), RewardShaping(), StalenessConfig(), 0)
    learner = LearnerGroup(str(tiny_model_dir), LearnerConfig(local=True), OptimConfig(lr=1e-3), 2)
    raw, tempered = learner.logprobs(batch.samples, 8), learner.logprobs(batch.samples, 8, T)
    p = len(prompt)
    for s, u, r, h in zip(batch.samples, turns, raw, tempered, strict=True):
        assert max(abs(a - b) for a, b in zip(r[p:], u.logprobs)) < 1e-4  # T = 1: the engine's raw logprobs
        with torch.no_grad():
            z = engine.model(input_ids=torch.tensor([s.input_ids])).logits[0].float()
        ids = torch.tensor(s.input_ids[p:])
        want = torch.log_softmax(z[p - 1 : -1] / T, -1).gather(-1, ids[:, None])[:, 0]
        torch.testing.assert_close(torch.tensor(h[p:]), want, atol=1e-4, rtol=0)

    def first_step(old: list[list[float]]) -> dict[str, float]:
        fresh = LearnerGroup(str(tiny_model_dir), LearnerConfig(local=True), OptimConfig(lr=1e-3), 2)
        extras = [{**e, "old_logprobs": lp} for e, lp in zip(batch.policy_extras, old, strict=True)]
        return fresh.train_step(batch.samples, 8, "ppo", extras, None, {"temperature": T})

    on = first_step(tempered)
    assert on["approx_kl_sum"] < 1e-6 and on["clipped_tokens"] == 0
    off = first_step(raw)
    assert off["approx_kl_sum"] > 1e-3  # raw logprobs at T != 1: a wrong ratio from the first step
