"""Placement: resource pools (Ray placement groups), and colocation of the learners with the engines.

A `ResourcePool` is a placement group whose bundle r receives rank r of whatever is placed in it.
Disaggregated (the default) gives every group its own placement: the learner ranks a PACK placement group
each, the engine replicas plain actors. Colocated (`colocate: true` in a PPO config) is verl's hybrid engine
and OpenRLHF's `--colocate_all_models`: one placement group, the *resource pool*, of `actor.world_size`
bundles, bundle r sized to the sum of what its members ask, e.g. on a GPU cluster

    bundle r = {GPU: 0.4 (actor) + 0.3 (critic) + 0.1 (reference) + 0.2 (engine) = 1, CPU: ...}

so the members of rank r land on the same node and share that node's device, taking turns: generation,
then the update, then generation again. Nothing waits idle for a phase it does not run, which is why
colocation wins when a single model fills the devices. The members' GPU shares must fit one device (sum
<= 1); a vLLM engine's `gpu_memory_utilization` must stay within its share, and it must not span devices
(tensor_parallel_size 1). Env workers stay outside the pool (they live on CPU nodes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agentrl.config import ConfigError

if TYPE_CHECKING:
    from agentrl.train.ppo.loop import PPOConfig


def memory_option(memory_gb: float) -> dict[str, float]:
    """Ray's `memory` resource (bytes) reserving `memory_gb`; nothing when 0."""
    return {"memory": int(memory_gb * 1024**3)} if memory_gb > 0 else {}


def bundle_shape(cpus: float, gpus: float = 0.0, memory_gb: float = 0.0) -> dict[str, float]:
    """One placement-group bundle in Ray's resource names (GPU and memory only when asked)."""
    return {"CPU": cpus, **({"GPU": gpus} if gpus else {}), **memory_option(memory_gb)}


@dataclass(frozen=True)
class Member:
    """One kind of actor in every bundle (the engine only in the first `placement.replicas`)."""

    name: str
    cpus: float
    gpus: float
    count: int  # bundles holding one of these
    memory_gb: float = 0.0


def members(cfg: PPOConfig) -> list[Member]:
    n = cfg.actor.world_size
    a, c, e = cfg.actor, cfg.critic, cfg.placement
    out = [Member("actor", a.num_cpus_per_worker, a.num_gpus_per_worker, n, a.memory_gb_per_worker)]
    if cfg.uses_critic:
        out.append(Member("critic", c.num_cpus_per_worker, c.num_gpus_per_worker, n, c.memory_gb_per_worker))
    if cfg.ppo.kl_coef > 0:
        out.append(
            Member("reference", a.num_cpus_per_worker, a.num_gpus_per_worker, n, a.memory_gb_per_worker)
        )
    out.append(Member("engine", e.num_cpus, e.num_gpus, e.replicas, e.memory_gb))
    return out


def bundles(cfg: PPOConfig) -> list[dict[str, float]]:
    """Bundle r = the sum of its members' CPUs, GPUs and reserved memory (Ray's resource names)."""
    every = members(cfg)
    out = []
    for r in range(cfg.actor.world_size):
        here = [m for m in every if r < m.count]
        out.append(bundle_shape(*(sum(getattr(m, k) for m in here) for k in ("cpus", "gpus", "memory_gb"))))
    return out


def validate(cfg: PPOConfig) -> None:
    """One line naming the field for a colocated config that cannot be placed."""
    n = cfg.actor.world_size
    if cfg.actor.local or cfg.critic.local:
        raise ConfigError(
            "colocate: actor.local and critic.local must be false (colocation places Ray actors)"
        )
    if cfg.uses_critic and cfg.critic.world_size != n:
        raise ConfigError(
            f"colocate: critic.world_size={cfg.critic.world_size} must equal actor.world_size={n} "
            "(rank r of each shares bundle r)"
        )
    if not 1 <= cfg.placement.replicas <= n:
        raise ConfigError(
            f"colocate: placement.replicas={cfg.placement.replicas} must be between 1 and actor.world_size={n} "
            "(each engine replica shares one rank's bundle)"
        )
    first = [m for m in members(cfg) if m.count > 0]
    gpus = sum(m.gpus for m in first)
    if gpus > 1 + 1e-9:
        parts = " + ".join(f"{m.name} {m.gpus:g}" for m in first if m.gpus)
        raise ConfigError(
            f"colocate: one bundle asks GPU {gpus:g} ({parts}); colocated members share one device: give each a "
            "fraction (actor/critic.num_gpus_per_worker, placement.num_gpus) summing to <= 1"
        )
    if cfg.engine.kind == "vllm":
        if cfg.engine.tensor_parallel_size != 1:
            raise ConfigError(
                f"colocate: engine.tensor_parallel_size={cfg.engine.tensor_parallel_size}: a colocated vLLM "
                "engine lives in one bundle; use 1 (or colocate: false)"
            )
        share = cfg.placement.num_gpus
        if share and cfg.engine.gpu_memory_utilization > share + 1e-9:
            raise ConfigError(
                f"colocate: engine.gpu_memory_utilization={cfg.engine.gpu_memory_utilization:g} exceeds the "
                f"engine's GPU share placement.num_gpus={share:g}; the learners need the rest"
            )


@dataclass
class ResourcePool:
    """The placement group every colocated actor is scheduled into; `strategy(r)` places one in bundle r."""

    pg: Any
    size: int

    @classmethod
    def of(cls, shapes: list[dict[str, float]], timeout_s: float = 120.0) -> ResourcePool:
        """A PACK placement group of these bundles (a multi-GPU node fills first), once Ray has reserved it."""
        import ray
        from ray.util.placement_group import placement_group

        pg = placement_group(shapes, strategy="PACK")
        ray.get(pg.ready(), timeout=timeout_s)
        return cls(pg, len(shapes))

    @classmethod
    def colocated(cls, cfg: PPOConfig) -> ResourcePool:
        validate(cfg)
        return cls.of(bundles(cfg))

    def strategy(self, bundle: int) -> Any:
        from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

        if not 0 <= bundle < self.size:
            raise IndexError(f"bundle {bundle} of a pool of {self.size}")
        return PlacementGroupSchedulingStrategy(self.pg, placement_group_bundle_index=bundle)

    def remove(self) -> None:
        import ray

        ray.util.remove_placement_group(self.pg)
