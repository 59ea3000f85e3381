"""Trajectory serialisation is lossless; an episode with the real engine fills every field the learner needs."""

from __future__ import annotations

import asyncio

import numpy as np

from rollout.agent import AgentConfig
from rollout.engines.base import SamplingConfig
from rollout.episode import run_episode
from rollout.local_env import LocalEnv
from rollout.trajectory import Trajectory, Turn


def _episode(tiny_model_dir, tokenizer, seed=0):
    from rollout.engines.hf import HFEngine

    env = LocalEnv()
    try:
        cfg = AgentConfig(max_steps=3, history_images=2, sampling=SamplingConfig(max_tokens=12, seed=0))
        return asyncio.run(
            run_episode(HFEngine(tiny_model_dir), env, tokenizer, cfg, "agentrl/toy.click-target-v0", seed)
        )
    finally:
        env.close()


def test_episode_records_what_the_learner_needs(tiny_model_dir, tiny_tokenizer):
    t = _episode(tiny_model_dir, tiny_tokenizer)
    assert t.status == "ok" and t.instruction.startswith("Click")
    assert 1 <= t.num_steps <= 3
    for i, turn in enumerate(t.turns):
        assert len(turn.response_ids) == len(turn.logprobs) == len(turn.response_mask) > 0
        assert all(lp <= 0 for lp in turn.logprobs)
        assert len(turn.image_refs) == min(2, i + 1) and all(r in t.images for r in turn.image_refs)
        assert turn.timings["generate_s"] > 0 and turn.policy_version == 0
        assert (turn.action is None) == bool(turn.action_error)


def test_lossless_round_trip(tiny_model_dir, tiny_tokenizer, tmp_path):
    t = _episode(tiny_model_dir, tiny_tokenizer, seed=3)
    assert Trajectory.from_dict(t.to_dict(), t.images) == t
    back = Trajectory.load(t.save(tmp_path))
    assert back == t
    assert back.turns[0].logprobs == t.turns[0].logprobs  # float64, bit for bit


def test_equality_sees_image_and_token_changes():
    img = np.zeros((4, 4, 3), np.uint8)
    a = Trajectory("e", 0, "i")
    ref = a.add_image(img)
    a.turns.append(Turn([1, 2], [3], [-0.5], "x", [ref]))
    b = Trajectory.from_dict(a.to_dict(), {ref: img.copy()})
    assert a == b
    b.images[ref] = img + 1
    assert a != b
    c = Trajectory.from_dict(a.to_dict(), a.images)
    c.turns[0].response_ids = [4]
    assert a != c
