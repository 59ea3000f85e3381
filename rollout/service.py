"""Bring up engines and env workers on Ray and collect episodes: the piece rollout, eval and PPO share."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from agentrl.config import StrictModel
from agentrl.launch.placement import CustomResources, ResourcePool
from agentrl.launch.ray_init import RayConfig, init_ray
from agentrl.launch.resources import INFER_BYTES_PER_PARAM, Demand, GiB, ResourceError
from rollout.actors import RayEngineClient, engine_actor
from rollout.agent import AgentConfig
from rollout.collector import Collector, CollectorConfig, Task
from rollout.engines.config import EngineConfig
from rollout.trajectory import Trajectory


class EnginePlacement(StrictModel):
    replicas: int = 1
    num_cpus: float = 1.0
    num_gpus: float = 0.0  # per replica (vLLM tensor parallel size x 1 GPU)
    memory_gb: float = 0.0  # RAM Ray reserves per replica (0: none)
    # Ray custom resources per replica, pinning engines to the nodes declaring them ({"engine_node": 0.01})
    resources: CustomResources = {}


def task_list(env_ids: list[str], episodes: int, seed: int) -> list[Task]:
    """`episodes` tasks, round-robin over env ids, with seeds seed, seed+1, ..."""
    if not env_ids:
        raise ValueError("tasks: at least one env id is required")
    return [(env_ids[i % len(env_ids)], seed + i) for i in range(episodes)]


def check_env_ids(env_ids: list[str]) -> None:
    import envs

    for env_id in env_ids:
        envs.spec(env_id)  # raises UnknownEnvError with a suggestion


@dataclass
class RolloutService:
    engine: RayEngineClient
    collector: Collector
    tokenizer: Any

    @classmethod
    def start(
        cls,
        engine_cfg: EngineConfig,
        agent: AgentConfig,
        collector: CollectorConfig,
        placement: EnginePlacement | None = None,
        ray_cfg: RayConfig | None = None,
        resource_pool: ResourcePool | None = None,
    ) -> RolloutService:
        """`resource_pool`: place engine replica r in its bundle r (colocated with the learners' rank r)."""
        from agentrl.models.loading import load_processor

        init_ray(ray_cfg)
        placement = placement or EnginePlacement()
        actor_cls = engine_actor(
            placement.num_cpus, placement.num_gpus, placement.memory_gb, placement.resources
        )
        threads = max(1, int(placement.num_cpus))
        if resource_pool is None:
            actors = [actor_cls.remote(engine_cfg, threads) for _ in range(placement.replicas)]
        else:
            actors = [
                actor_cls.options(scheduling_strategy=resource_pool.strategy(r)).remote(engine_cfg, threads)
                for r in range(placement.replicas)
            ]
        tokenizer = load_processor(engine_cfg.model).tokenizer
        client = RayEngineClient(actors)
        return cls(client, Collector(client, tokenizer, agent, collector), tokenizer)

    def stream(self, tasks: Iterable[Task], meta: dict[str, Any] | None = None) -> AsyncIterator[Trajectory]:
        return self.collector.stream(tasks, meta)

    async def collect(
        self,
        tasks: Iterable[Task],
        on_done: Callable[[Trajectory], None] | None = None,
        meta: dict[str, Any] | None = None,
    ) -> list[Trajectory]:
        out = []
        async for t in self.stream(tasks, meta):
            out.append(t)
            if on_done:
                on_done(t)
        return out

    async def close(self) -> None:
        await self.collector.close()
        await self.engine.shutdown()


def engine_demand(placement: EnginePlacement, engine: EngineConfig, params: int | None) -> list[Demand]:
    """`replicas` engine actors; a vLLM replica on GPUs needs `tensor_parallel_size` of them."""
    tp = engine.tensor_parallel_size
    if engine.kind == "vllm" and tp > 1 and placement.num_gpus and placement.num_gpus < tp:  # tp 1 may share
        raise ResourceError(
            f"resources: placement.num_gpus is {placement.num_gpus:g} per engine replica, but "
            f"engine.tensor_parallel_size={tp} needs {tp}; set placement.num_gpus={tp}"
        )
    memory = params * INFER_BYTES_PER_PARAM if params and not placement.num_gpus else 0.0
    memory = max(memory, placement.memory_gb * GiB)
    key = "placement.replicas x placement.num_cpus/num_gpus"
    per = (placement.num_cpus, placement.num_gpus, memory, dict(placement.resources))
    return [Demand("engines", key, placement.replicas, *per)]
