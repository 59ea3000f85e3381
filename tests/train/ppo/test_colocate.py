"""Colocated placement: actor, critic and engine of rank r share one bundle of one placement group (real Ray)."""

from __future__ import annotations

import asyncio
import time

import pytest

from agentrl.config import ConfigError
from agentrl.train.ppo.loop import PPOTrainer
from agentrl.train.ppo.placement import bundles
from tests.train.ppo.test_loop import _cfg


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"critic.world_size": 2}, "critic.world_size=2 must equal actor.world_size=1"),
        ({"placement.replicas": 2}, "placement.replicas=2 must be between 1 and actor.world_size=1"),
        (
            {"actor.num_gpus_per_worker": 0.6, "critic.num_gpus_per_worker": 0.6},
            r"one bundle asks GPU 1.2 \(actor 0.6 \+ critic 0.6\)",
        ),
        ({"engine.kind": "vllm", "engine.tensor_parallel_size": 2}, "engine.tensor_parallel_size=2"),
        (
            {"engine.kind": "vllm", "placement.num_gpus": 0.2, "engine.gpu_memory_utilization": 0.5},
            "engine.gpu_memory_utilization=0.5 exceeds the engine's GPU share placement.num_gpus=0.2",
        ),
        ({"actor.local": True}, "actor.local and critic.local must be false"),
    ],
)
def test_configs_that_cannot_be_colocated_are_refused_naming_the_field(
    tiny_model_dir, tmp_path, over, message
):
    with pytest.raises(ConfigError, match=rf"^config: colocate: {message}"):
        _cfg(tiny_model_dir, tmp_path, colocate="true", **over)


def test_a_bundle_is_the_sum_of_its_members(tiny_model_dir, tmp_path):
    cfg = _cfg(tiny_model_dir, tmp_path, colocate="true", **{"ppo.kl_coef": 0.1})
    # actor 0.5 + critic 0.5 + reference 0.5 (the actor's shape) + engine 0.5 CPUs (configs/ppo_tiny.yaml)
    assert bundles(cfg) == [{"CPU": 2.0}]
    over = {"actor.memory_gb_per_worker": 1, "placement.memory_gb": 0.5}
    cfg = _cfg(tiny_model_dir, tmp_path, colocate="true", **over)
    assert bundles(cfg) == [{"CPU": 1.5, "memory": int(1.5 * 1024**3)}]


@pytest.mark.slow
def test_colocated_ppo_places_every_member_of_rank_0_in_bundle_0(ray_local, tiny_model_dir, tmp_path):
    """One PPO iteration with the actor, critic and engine in one placement group; the group is gone after."""
    import ray
    from ray.util.placement_group import placement_group_table

    over = {"colocate": "true", "iterations": 1, "value_pretrain_iterations": 0, "mode": "sync",
            "actor.num_cpus_per_worker": 0.25, "critic.num_cpus_per_worker": 0.25, "placement.num_cpus": 0.25,
            "actor.memory_gb_per_worker": 0.25, "collector.worker_memory_gb": 0.25}  # fmt: skip
    cfg = _cfg(tiny_model_dir, tmp_path, **over)
    seen: dict[str, object] = {}

    def where(handle: object) -> str | None:
        def probe(_self: object) -> str | None:
            return ray.get_runtime_context().get_placement_group_id()

        return ray.get(handle.__ray_call__.remote(probe))

    def on_iteration(_i: int, _row: dict) -> None:
        seen["pool"] = trainer.resource_pool.pg.id.hex()
        seen["bundles"] = placement_group_table(trainer.resource_pool.pg)["bundles"]
        seen["actor"] = [where(w) for w in trainer.actor.workers]
        seen["critic"] = [where(w) for w in trainer.critic.workers]
        seen["engine"] = [where(a) for a in trainer.service.engine.actors]

    trainer = PPOTrainer(cfg, on_iteration=on_iteration)
    report = asyncio.run(trainer.run())
    trainer.on_iteration = None  # no cycle keeps the trainer alive
    assert [r["kind"] for r in report["history"]].count("train") == 1
    assert seen["actor"] == seen["critic"] == seen["engine"] == [seen["pool"]]
    assert seen["bundles"] == {0: {"CPU": 0.75, "memory": 1024**3 / 4}}  # Ray reserved the actor's memory
    assert placement_group_table(trainer.resource_pool.pg)["state"] == "REMOVED"
    # nothing of the run holds resources any more (the next tests need the whole local cluster)
    deadline = time.monotonic() + 60  # actors and groups are released asynchronously
    while (
        ray.available_resources().get("CPU", 0) < ray.cluster_resources()["CPU"]
        and time.monotonic() < deadline
    ):
        time.sleep(0.5)
    assert ray.available_resources().get("CPU", 0) == ray.cluster_resources()["CPU"], (
        ray.util.state.list_actors(filters=[("state", "=", "ALIVE")])
    )
