"""Placement: resource pools (Ray placement groups) whose bundle r receives rank r of whatever is placed in it.

What a PPO run places where (colocation of the learners with the engines) is agentrl.train.ppo.placement.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator

RAY_OWN = (
    "CPU",
    "GPU",
    "memory",
    "object_store_memory",
)  # set by num_cpus, num_gpus, memory_gb, not `resources`


def check_custom_resources(resources: dict[str, float]) -> dict[str, float]:
    """Custom resources are names a node declares (env_node, learner_node), asked in amounts >= 0."""
    for name, amount in resources.items():
        if name in RAY_OWN:
            raise ValueError(
                f"resources: {name} is Ray's own resource; set it with the num_cpus/num_gpus/memory fields"
            )
        if amount < 0:
            raise ValueError(f"resources: {name}: {amount:g} must be >= 0")
    return resources


# a config's `resources` field: Ray custom resources each actor asks for, pinning it to the nodes declaring them
CustomResources = Annotated[dict[str, float], AfterValidator(check_custom_resources)]


def memory_option(memory_gb: float) -> dict[str, float]:
    """Ray's `memory` resource (bytes) reserving `memory_gb`; nothing when 0."""
    return {"memory": int(memory_gb * 1024**3)} if memory_gb > 0 else {}


def custom_option(resources: dict[str, float] | None) -> dict[str, dict[str, float]]:
    """Ray's `resources` option for custom resources (e.g. {"env_node": 0.01}); nothing when none."""
    custom = {k: v for k, v in (resources or {}).items() if v}
    return {"resources": custom} if custom else {}


def bundle_shape(
    cpus: float, gpus: float = 0.0, memory_gb: float = 0.0, resources: dict[str, float] | None = None
) -> dict[str, float]:
    """One placement-group bundle in Ray's resource names (GPU, memory and custom resources only when asked:
    an actor scheduled into a bundle may use only what the bundle holds)."""
    custom = custom_option(resources).get("resources", {})
    return {"CPU": cpus, **({"GPU": gpus} if gpus else {}), **memory_option(memory_gb), **custom}


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

    def strategy(self, bundle: int) -> Any:
        from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

        if not 0 <= bundle < self.size:
            raise IndexError(f"bundle {bundle} of a pool of {self.size}")
        return PlacementGroupSchedulingStrategy(self.pg, placement_group_bundle_index=bundle)

    def remove(self) -> None:
        import ray

        ray.util.remove_placement_group(self.pg)
