"""Node roles on a real multi-node Ray cluster: Ray's own test cluster (`ray.cluster_utils.Cluster`), a head and
worker nodes, each its own raylet with its own resources, all on this machine. A short PPO run asks for the
nodes' custom resources and its actors land where they were pinned; an env node lost mid-run costs no
committed trajectory, and its episodes are retried on the env node that remains."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from agentrl.train.ppo.loop import PPOTrainer
from tests.train.ppo.test_loop import _cfg

# engines on the head, env workers on env nodes, actor and critic ranks on the learner node
PINNED = {"collector.resources": "{env_node: 0.01}", "placement.resources": "{engine_node: 0.01}",
          "actor.resources": "{learner_node: 0.01}", "critic.resources": "{learner_node: 0.01}"}  # fmt: skip


def _cluster(request, env_nodes: int):
    """head {CPU 1, engine_node}, `env_nodes` x {CPU 1, env_node}, learner {CPU 1, learner_node}: the cluster
    and its nodes by role ("env" a list). The session's local instance (ray_local), if one runs, is shut down
    first and restarted after, so that no other test's `ray.init` finds this cluster (its shutdown also forgets
    the address Ray wrote for it)."""
    import ray
    from ray.cluster_utils import Cluster

    from agentrl.launch.ray_init import RayConfig, init_ray

    was_local = ray.is_initialized()
    ray.shutdown()
    cluster = Cluster()

    def finalize() -> None:
        ray.shutdown()
        cluster.shutdown()
        if was_local:
            init_ray(RayConfig(num_cpus=2))  # as tests/conftest.py's ray_local started it

    request.addfinalizer(finalize)
    nodes = {
        "head": cluster.add_node(num_cpus=1, resources={"engine_node": 100}),
        "env": [cluster.add_node(num_cpus=1, resources={"env_node": 100}) for _ in range(env_nodes)],
        "learner": cluster.add_node(num_cpus=1, resources={"learner_node": 100}),
    }
    cluster.wait_for_nodes()
    return cluster, nodes


def _where(handle: object) -> str:
    """The id of the node an actor runs on."""
    import ray

    def probe(_self: object) -> str:
        return ray.get_runtime_context().get_node_id()

    return ray.get(handle.__ray_call__.remote(probe))


@pytest.mark.slow
def test_env_workers_and_learner_ranks_run_on_the_nodes_their_resources_pin(
    request, tiny_model_dir, tmp_path
):
    """One sync PPO iteration connected to a 3-node cluster: every env worker (training and evaluation) on the
    env node, every learner rank (actor and critic) on the learner node, the engine on the head."""
    from agentrl.data.store import Query, TrajectoryStore

    cluster, nodes = _cluster(request, env_nodes=1)
    over = {"ray.address": cluster.address, "mode": "sync", "iterations": 1, "value_pretrain_iterations": 0,
            "rewards.step_penalty": -0.1, **PINNED}  # fmt: skip
    cfg = _cfg(tiny_model_dir, tmp_path, **over)
    seen: dict[str, list[str]] = {}

    def on_iteration(_i: int, _row: dict) -> None:
        seen["actor"] = [_where(w) for w in trainer.actor.workers]
        seen["critic"] = [_where(w) for w in trainer.critic.workers]
        seen["env workers"] = [_where(w) for w in trainer.service.collector.workers]
        seen["eval env workers"] = [_where(w) for w in trainer.eval_collector.workers]
        seen["engines"] = [_where(a) for a in trainer.service.engine.actors]

    trainer = PPOTrainer(cfg, on_iteration=on_iteration)
    report = asyncio.run(trainer.run())
    trainer.on_iteration = None  # no cycle keeps the trainer alive
    assert [r["kind"] for r in report["history"]].count("train") == 1
    assert seen["actor"] == seen["critic"] == [nodes["learner"].node_id]
    assert seen["env workers"] == seen["eval env workers"] == [nodes["env"][0].node_id]
    assert seen["engines"] == [nodes["head"].node_id]
    assert TrajectoryStore(tmp_path / "store").count(Query(run="ppo")) >= 4  # pool.min_batch


class _LoseNodeOnFirstRequest:
    """The policy engine, seen by the collector's episodes: the first request of the iteration removes a node
    (all of the iteration's episodes then wait for it), so the node dies with those episodes in flight, their
    envs reset on it and their next step due there."""

    def __init__(self, engine: object, lose: Callable[[], None]) -> None:
        self.engine, self.lose, self.lost = engine, lose, None

    async def generate(self, request: object) -> object:
        self.lost = self.lost or asyncio.ensure_future(asyncio.to_thread(self.lose))
        await self.lost
        return await self.engine.generate(request)


@pytest.mark.slow
def test_an_env_node_lost_mid_episode_costs_no_committed_trajectory(request, tiny_model_dir, tmp_path):
    """Sync PPO, two env nodes. Iteration 1 commits its batch to the store; in iteration 2 the env node running
    the env worker is removed while the batch's episodes are in flight. The collector restarts the worker, Ray
    places it on the other env node, every episode is retried there (attempt 1) and finishes. Then a new env
    node joins (the lost one coming back) and, in iteration 3, the node the worker moved to is removed too:
    the worker is placed on the node that came back. The run finishes, and every trajectory committed before
    each loss is still in the store."""
    import json
    import time

    from agentrl.data.store import Query, TrajectoryStore

    cluster, nodes = _cluster(request, env_nodes=2)
    over = {"ray.address": cluster.address, "mode": "sync", "iterations": 3, "value_pretrain_iterations": 0,
            "rewards.step_penalty": -0.1, **PINNED}  # fmt: skip
    cfg = _cfg(tiny_model_dir, tmp_path, **over)
    store = TrajectoryStore(tmp_path / "store")
    seen: dict[str, object] = {"lost_at": {}, "recovered_in_s": {}}

    def rows() -> dict[str, dict]:
        return {r["id"]: r for r in store.rows(Query(run="ppo"))}

    def lose_next(i: int, node: object) -> None:
        """The next iteration's first request removes `node`; its recovery time runs to that iteration's end."""

        def lose() -> None:
            seen["lost_at"][i + 1] = time.monotonic()
            cluster.remove_node(node)

        collector = trainer.service.collector
        collector.engine = _LoseNodeOnFirstRequest(collector.engine, lose)

    def on_iteration(i: int, _row: dict) -> None:
        if i in seen["lost_at"]:
            seen["recovered_in_s"][i] = time.monotonic() - seen["lost_at"][i]
        worker_node = _where(trainer.service.collector.workers[0])
        seen[f"worker_after_{i}"] = worker_node
        seen[f"committed_{i}"] = set(rows())
        if i == 1:
            lose_next(i, next(n for n in nodes["env"] if n.node_id == worker_node))
        elif i == 2:
            seen["back"] = cluster.add_node(num_cpus=1, resources={"env_node": 100})
            cluster.wait_for_nodes()
            lose_next(i, next(n for n in nodes["env"] if n.node_id == worker_node))

    trainer = PPOTrainer(cfg, on_iteration=on_iteration)
    report = asyncio.run(trainer.run())
    trainer.on_iteration = None  # no cycle keeps the trainer alive
    print(f"env node loss: recovered (loss -> the iteration's end) in {seen['recovered_in_s']} s")
    assert [r["kind"] for r in report["history"]].count("train") == 3
    first, second = seen["worker_after_1"], seen["worker_after_2"]
    (other,) = [n.node_id for n in nodes["env"] if n.node_id != first]
    assert second == other  # moved to the env node that remained
    assert seen["worker_after_3"] == seen["back"].node_id  # and then to the node that came back
    assert trainer.service.collector.restarts == 2
    after = rows()
    assert len(seen["committed_1"]) == 4 and seen["committed_1"] <= seen["committed_2"] <= set(after)
    for before, now in ((seen["committed_1"], seen["committed_2"]), (seen["committed_2"], set(after))):
        retried = [after[i] for i in now - before]
        assert len(retried) == 4  # pool.min_batch: the sync batch, every episode retried once
        assert all(json.loads(r["meta"])["attempt"] == 1 and r["status"] == "ok" for r in retried), retried
