"""Where a PPO run's actors go, and what it asks of the cluster.

Disaggregated (the default) gives every group its own placement: the learner ranks a PACK placement group
each, the engine replicas plain actors. Colocated (`colocate: true`) is verl's hybrid engine and OpenRLHF's
`--colocate_all_models`: one placement group, the *resource pool*, of `actor.world_size` bundles, bundle r
sized to the sum of what its members ask, e.g. on a GPU cluster

    bundle r = {GPU: 0.4 (actor) + 0.3 (critic) + 0.1 (reference) + 0.2 (engine) = 1, CPU: ...}

so the members of rank r land on the same node and share that node's device, taking turns: generation,
then the update, then generation again. Nothing waits idle for a phase it does not run, which is why
colocation wins when a single model fills the devices. The members' GPU shares must fit one device (sum
<= 1); a vLLM engine's `gpu_memory_utilization` must stay within its share, and it must not span devices
(tensor_parallel_size 1). Env workers stay outside the pool (they live on CPU nodes).
"""

from __future__ import annotations

from dataclasses import replace

from agentrl.launch.placement import ResourcePool, bundle_shape
from agentrl.launch.resources import Demand, count_parameters
from agentrl.train.config import learner_demand
from agentrl.train.ppo.config import PPOConfig, members, validate
from rollout.collector import collector_demand
from rollout.service import engine_demand


def bundles(cfg: PPOConfig) -> list[dict[str, float]]:
    """Bundle r = the sum of its members' CPUs, GPUs, reserved memory and custom resources (Ray's names)."""
    every = members(cfg)
    out = []
    for r in range(cfg.actor.world_size):
        here = [m for m in every if r < m.count]
        custom = {
            k: sum(m.resources.get(k, 0.0) for m in here)
            for k in sorted({k for m in here for k in m.resources})
        }
        out.append(
            bundle_shape(*(sum(getattr(m, k) for m in here) for k in ("cpus", "gpus", "memory_gb")), custom)
        )
    return out


def ppo_demand(cfg: PPOConfig) -> list[Demand]:
    """Everything PPOTrainer starts: actor, critic, reference (kl_coef > 0), engines, env workers (+1 for eval)."""
    params = count_parameters(cfg.model)
    critic_params = count_parameters(cfg.critic_model) if cfg.critic_model else params
    out = learner_demand("actor", cfg.actor, params)
    if cfg.uses_critic:  # GRPO builds none
        out += learner_demand("critic", cfg.critic, critic_params)
    if cfg.ppo.kl_coef > 0:
        ref = learner_demand("actor", cfg.actor, params, train=False)
        out += [replace(r, name="reference") for r in ref]
    out += engine_demand(cfg.placement, cfg.engine, params)
    if cfg.colocate:
        out = colocated(out)
    return out + collector_demand(cfg.collector, 1)


def colocated(demands: list[Demand]) -> list[Demand]:
    """Colocation: rank r of every group shares bundle r, so the cluster must
    hold the bundles, each the sum of its members, rather than each group apart."""
    size = max(d.count for d in demands)
    custom = sorted({k for d in demands for k in d.custom})
    shapes: dict[tuple[float, ...], int] = {}
    for r in range(size):
        here = [d for d in demands if r < d.count]
        shape = tuple(sum(d.per_actor(res) for d in here) for res in ("CPU", "GPU", "memory", *custom))
        shapes[shape] = shapes.get(shape, 0) + 1
    key = "colocate: actor.world_size bundles of actor + critic (+ reference) + engine"
    return [
        Demand("colocated bundles", key, n, *shape[:3], {k: v for k, v in zip(custom, shape[3:]) if v})
        for shape, n in shapes.items()
    ]


def colocated_pool(cfg: PPOConfig) -> ResourcePool:
    """The one placement group every member of a colocated run is scheduled into."""
    validate(cfg)
    return ResourcePool.of(bundles(cfg))
