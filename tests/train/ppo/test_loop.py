"""The RL loop end to end on real Ray, real engines and the toy env (short runs)."""

from __future__ import annotations

import asyncio
import json

import pytest

from agentrl.config import load_config
from agentrl.train.ppo.loop import PPOConfig, PPOTrainer


def _cfg(model, tmp_path, **over):
    base = [f"model={model}", f"output_dir={tmp_path / 'ppo'}", f"store={tmp_path / 'store'}", "iterations=2",
            "pool.min_batch=4", "pool.max_batch=8", "agent.max_steps=2", "agent.sampling.max_tokens=12",
            "collector.env_workers=1", "collector.envs_per_worker=4", "eval.episodes=0",
            "value_pretrain_iterations=1", "ray.num_cpus=2"]  # fmt: skip
    return load_config(PPOConfig, "configs/ppo_tiny.yaml", base + [f"{k}={v}" for k, v in over.items()])


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["async", "sync"])
def test_loop_runs_stores_checkpoints_and_resumes(ray_local, tiny_model_dir, tmp_path, mode):
    from agentrl.data.store import Query, TrajectoryStore

    cfg = _cfg(tiny_model_dir, tmp_path, mode=mode)
    report = asyncio.run(PPOTrainer(cfg).run())
    rows = [r for r in report["history"] if r["kind"] == "train"]
    assert len(rows) == 2 and [r["version"] for r in rows] == [1.0, 2.0]
    # an untrained model never succeeds: all rewards equal, so the policy update is skipped, the critic trains
    assert all(r.get("policy_skipped_all_equal_rewards") == 1.0 for r in rows)
    assert all("value_loss" in r for r in rows)
    assert any(r["kind"] == "value_pretrain" for r in report["history"])
    store = TrajectoryStore(tmp_path / "store")
    assert store.count(Query(run="ppo")) >= 8
    ck = tmp_path / "ppo" / "checkpoints" / "iter-00002"
    assert (ck / "COMPLETE").exists() and json.loads((ck / "loop.json").read_text())["version"] == 2
    # resume: continues at iteration 2 and runs one more
    cfg3 = _cfg(tiny_model_dir, tmp_path, mode=mode, iterations=3)
    report = asyncio.run(PPOTrainer(cfg3, resume=ck).run())
    rows = [r for r in report["history"] if r["kind"] == "train"]
    assert [r["iteration"] for r in rows] == [3.0] and rows[0]["version"] == 3.0
