"""The RL loop end to end on real Ray, real engines and real env workers (short runs)."""

from __future__ import annotations

import asyncio
import json

import pytest
import torch

from agentrl.config import load_config
from agentrl.train.ppo.batch import PPOBatch
from agentrl.train.ppo.config import PPOConfig
from agentrl.train.ppo.loop import PPOTrainer

PARITY = "tests.train.ppo.parity_env:ParityEnv"


def _overrides(model, tmp_path, **over) -> list[str]:
    """A short PPO run on the toy tasks, as `key=value` overrides of configs/ppo_tiny.yaml."""
    base = [f"model={model}", f"output_dir={tmp_path / 'ppo'}", f"store={tmp_path / 'store'}", "iterations=2",
            "pool.min_batch=4", "pool.max_batch=8", "agent.max_steps=2", "agent.sampling.max_tokens=12",
            "collector.env_workers=1", "collector.envs_per_worker=4", "eval.episodes=0",
            "value_pretrain_iterations=1", "ray.num_cpus=2"]  # fmt: skip
    return base + [f"{k}={v}" for k, v in over.items()]


def _cfg(model, tmp_path, **over):
    return load_config(PPOConfig, "configs/ppo_tiny.yaml", _overrides(model, tmp_path, **over))


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["async", "sync"])
def test_loop_runs_stores_checkpoints_and_resumes(ray_local, tiny_model_dir, tmp_path, mode):
    from agentrl.data.store import Query, TrajectoryStore

    # an untrained model never succeeds: every episode times out; the step penalty gives the critic a
    # non-zero target, so under GAE the advantages R - V are not zero and the policy update runs
    cfg = _cfg(tiny_model_dir, tmp_path, mode=mode, **{"rewards.step_penalty": -0.1})
    report = asyncio.run(PPOTrainer(cfg).run())
    rows = [r for r in report["history"] if r["kind"] == "train"]
    assert len(rows) == 2 and [r["version"] for r in rows] == [1.0, 2.0]
    assert all(r["policy_steps"] == 1.0 and "policy_skipped_zero_advantages" not in r for r in rows)
    assert all("value_loss" in r for r in rows)
    assert all(r["timeout_share_of_failures"] == 1.0 for r in rows)
    assert any(r["kind"] == "value_pretrain" for r in report["history"])
    store = TrajectoryStore(tmp_path / "store")
    assert store.count(Query(run="ppo")) >= 8
    ck = tmp_path / "ppo" / "checkpoints" / "iter-00002"
    assert (ck / "COMPLETE").exists() and json.loads((ck / "loop.json").read_text())["version"] == 2
    # resume: continues at iteration 2 and runs one more
    cfg3 = _cfg(tiny_model_dir, tmp_path, mode=mode, iterations=3, **{"rewards.step_penalty": -0.1})
    report = asyncio.run(PPOTrainer(cfg3, resume=ck).run())
    rows = [r for r in report["history"] if r["kind"] == "train"]
    assert [r["iteration"] for r in rows] == [3.0] and rows[0]["version"] == 3.0


class _Probe(PPOTrainer):
    """Records which episodes succeeded, and the actor's logprobs of each update's samples just before and
    just after the update."""

    probes: list[tuple[PPOBatch, list[list[float]], list[list[float]]]]
    success: dict[str, bool]

    async def _values(self, trajs, lambda_critic=None):
        self.success = {**getattr(self, "success", {}), **{t.id: t.success for t in trajs}}
        return await super()._values(trajs, lambda_critic)

    async def _update(self, batch: PPOBatch, policy: bool = True) -> dict[str, float]:
        if not policy:
            return await super()._update(batch, policy)
        t = self.cfg.agent.sampling.temperature
        before = self.actor.logprobs(samples=batch.samples, micro_batch_size=8, temperature=t)
        m = await super()._update(batch, policy)
        after = self.actor.logprobs(samples=batch.samples, micro_batch_size=8, temperature=t)
        self.probes = [*getattr(self, "probes", []), (batch, before, after)]
        return m


@pytest.mark.slow
def test_a_gae_update_raises_the_logprob_of_rewarded_responses(ray_local, tiny_model_dir, tmp_path):
    """GAE with a critic, a reward that depends on the response: the update runs, and it moves the rewarded
    responses up relative to the others, which become less likely (logprob summed over the response's tokens,
    mean over responses). One Adam step moves every response's logprob by a shared amount too (the tiny
    model at init std 0.05 loses ~0.5 nats on the rewarded ones and ~13 on the others), so the rewarded
    responses' own sign is not the update's signal: their lead over the others is."""
    over = {"pool.tasks": f"[{PARITY}]", "mode": "sync", "iterations": 1, "pool.min_batch": 8,
            "pool.max_batch": 8, "advantage.lambda_policy": 1.0, "actor_optim.lr": 1e-3,
            "agent.sampling.temperature": 0.7, "save_every": 0}  # fmt: skip
    trainer = _Probe(_cfg(tiny_model_dir, tmp_path, **over))
    report = asyncio.run(trainer.run())
    (row,) = [r for r in report["history"] if r["kind"] == "train"]
    assert row["policy_steps"] == 1.0 and row["version"] == 1.0 and 0 < row["success_rate"] < 1
    (batch, before, after), moved = trainer.probes[0], {True: [], False: []}
    for sample, b, a in zip(batch.samples, before, after, strict=True):
        m = torch.tensor(sample.loss_mask, dtype=torch.float32)
        moved[trainer.success[sample.source]].append(float(((torch.tensor(a) - torch.tensor(b)) * m).sum()))
    assert moved[True] and moved[False]
    rewarded, others = (sum(v) / len(v) for v in (moved[True], moved[False]))
    assert rewarded > others + 1.0 and others < 0, moved


def test_evaluate_plays_tasks_round_robin_on_held_out_seeds():
    """PPOTrainer.evaluate through agentrl.eval: episode i is task i % n on seed seed_start + i, and the
    rates count trajectories in whatever order the collector finishes them."""
    from types import SimpleNamespace

    from rollout.trajectory import Trajectory

    class Collector:
        async def stream(self, tasks, meta=None):
            self.asked = list(tasks)
            for env_id, seed in reversed(self.asked):
                t = Trajectory(env_id=env_id, seed=seed, instruction="")
                t.success = seed % 3 == 0
                yield t

    cfg = SimpleNamespace(
        pool=SimpleNamespace(tasks=["a", "b"]), eval=SimpleNamespace(episodes=5, seed_start=100)
    )
    fake = SimpleNamespace(cfg=cfg, eval_collector=Collector())
    out = asyncio.run(PPOTrainer.evaluate(fake))  # type: ignore[arg-type]
    assert fake.eval_collector.asked == [("a", 100), ("b", 101), ("a", 102), ("b", 103), ("a", 104)]
    assert out == {
        "eval_success": 1 / 5,
        "eval_episodes": 5.0,
        "eval_success/a": 1 / 3,
        "eval_success/b": 0.0,
    }
