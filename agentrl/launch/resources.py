"""Resource preflight: what a run config asks of Ray, checked against what the cluster has, before any actor starts.

A run asks for Ray actors: learner ranks (`world_size` x cpus/gpus per worker, for the actor, the critic and
the frozen reference), engine replicas (`placement.replicas` x cpus/gpus), env workers (`collector.env_workers`
x `worker_num_cpus`, plus one for evaluation). Without this check a run asking for 8 GPUs on a 4-GPU cluster
waits on its placement group until a timeout; with it the run stops at once with one line naming the resource,
what was asked and what exists:

    resources: GPU: the run asks for 20 (actor 8 x 1 + critic 8 x 1 + engines 4 x 1), the cluster has 16

Custom resources pin roles to nodes: env workers, engines and learner ranks ask for whatever is in their
config's `resources` field (e.g. {"env_node": 0.01}), and only nodes started with that resource can hold them.
A resource no node declares is named with the actors that ask for it and how to declare it:

    resources: env_node: the run asks for 0.02 (env workers 2 x 0.01), the cluster has 0; declare it on the
    nodes for the env workers (ray start --resources='{"env_node": 100}')

Memory is checked as a floor, not an estimate: a model trained on CPUs needs at least 16 bytes per parameter
(fp32 weights, gradients and two Adam moments), a CPU engine at least 4. GPU memory is not checked here (Ray does
not report it). On an autoscaling cluster `ray.cluster_resources()` shows only the nodes running now: set
`ray.resource_check: warn` there.
"""

from __future__ import annotations

import json
import math
import struct
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from agentrl.config import ConfigError
from agentrl.launch.placement import RAY_OWN

if TYPE_CHECKING:
    from agentrl.launch.ray_init import RayConfig

GiB = 1024**3
TRAIN_BYTES_PER_PARAM = 16  # fp32 weights + gradients + Adam exp_avg + exp_avg_sq
INFER_BYTES_PER_PARAM = 4  # fp32 weights (CPU engines and the reference run in fp32)


class ResourceError(ConfigError):
    """A run that cannot fit the cluster; one line naming the resource, asked and existing."""


@dataclass(frozen=True)
class Demand:
    """`count` Ray actors of one kind, each asking `cpus`, `gpus` and (a floor of) `memory_bytes`."""

    name: str  # what the message calls it: "actor", "engines", "env workers"
    key: str  # the config keys that size it, for the message
    count: int
    cpus: float
    gpus: float = 0.0
    memory_bytes: float = 0.0
    custom: dict[str, float] = field(default_factory=dict)  # Ray custom resources each actor asks for

    def total(self, resource: str) -> float:
        return self.count * self.per_actor(resource)

    def per_actor(self, resource: str) -> float:
        builtin = {"CPU": self.cpus, "GPU": self.gpus, "memory": self.memory_bytes}
        return builtin[resource] if resource in builtin else self.custom.get(resource, 0.0)


@dataclass
class Capacity:
    """What a cluster has: resource totals and each node's resources (Ray's names: CPU, GPU, memory bytes)."""

    totals: dict[str, float]
    nodes: list[dict[str, float]] = field(default_factory=list)
    source: str = "the cluster"


# -- what a config asks --------------------------------------------------------------------------------------


def count_parameters(model: str | Path) -> int | None:
    """Parameters in a HF directory's safetensors files, read from their headers (no tensor is loaded);
    None when the directory is not on this machine (a hub id, or a path only the cluster has)."""
    files = sorted(Path(model).glob("*.safetensors")) if Path(model).is_dir() else []
    if not files:
        return None
    total = 0
    for f in files:
        with open(f, "rb") as fh:
            (n,) = struct.unpack("<Q", fh.read(8))
            header = json.loads(fh.read(n))
        total += sum(math.prod(t["shape"]) for k, t in header.items() if k != "__metadata__")
    return total


# -- what the cluster has ------------------------------------------------------------------------------------


def live_capacity() -> Capacity:
    """The connected Ray cluster's resources now (call after `init_ray`)."""
    import ray

    nodes = [dict(n["Resources"]) for n in ray.nodes() if n.get("Alive")]
    return Capacity(dict(ray.cluster_resources()), nodes, "the cluster")


# -- the check -----------------------------------------------------------------------------------------------


def _fmt(resource: str, x: float) -> str:
    return f"{x / GiB:.1f} GiB" if resource == "memory" else f"{x:g}"


def _declare(resource: str, demands: list[Demand]) -> str:
    """How to give the cluster a custom resource, for the message (nothing for Ray's own)."""
    if resource in RAY_OWN:
        return ""
    who = " and ".join(d.name for d in demands if d.per_actor(resource))
    return f"; declare it on the nodes for the {who} (ray start --resources='{{\"{resource}\": 100}}')"


def check(demands: Iterable[Demand], capacity: Capacity) -> None:
    """Raise ResourceError for the first resource the demands exceed: in total, or in one actor that no
    single node can hold. Ray's own resources first, then the custom ones the actors ask for."""
    demands = [d for d in demands if d.count > 0]
    custom = sorted({k for d in demands for k in d.custom})
    for res in ("GPU", "CPU", "memory", *custom):
        asked = sum(d.total(res) for d in demands)
        if asked <= 0 or (res == "memory" and res not in capacity.totals):  # unknown, not zero (ray up YAML)
            continue
        have = capacity.totals.get(res, 0.0)
        if asked > have + 1e-9:
            parts = " + ".join(
                f"{d.name} {d.count} x {_fmt(res, d.per_actor(res))}" for d in demands if d.total(res)
            )
            floor = "at least " if res == "memory" else ""
            raise ResourceError(
                f"resources: {res}: the run asks for {floor}{_fmt(res, asked)} ({parts}), "
                f"{capacity.source} has {_fmt(res, have)}{_declare(res, demands)}"
            )
        if not capacity.nodes:
            continue
        largest = max(n.get(res, 0.0) for n in capacity.nodes)
        for d in demands:
            if d.per_actor(res) > largest + 1e-9:
                key = f" ({d.key})" if res in RAY_OWN else ""
                raise ResourceError(
                    f"resources: {res}: one of the {d.name} asks for {_fmt(res, d.per_actor(res))}{key}, "
                    f"the largest node of {capacity.source} has {_fmt(res, largest)}{_declare(res, demands)}"
                )


def summary(demands: Iterable[Demand]) -> dict[str, float]:
    demands = list(demands)
    return {res: sum(d.total(res) for d in demands) for res in ("CPU", "GPU", "memory")}


def preflight(demands: list[Demand], ray_cfg: RayConfig, capacity: Capacity | None = None) -> None:
    """The check as the run config wants it (`ray.resource_check`: error, warn or off)."""
    if ray_cfg.resource_check == "off":
        return
    try:
        check(demands, capacity or live_capacity())
    except ResourceError as e:
        if ray_cfg.resource_check == "error":
            raise
        warnings.warn(f"{e} (continuing: ray.resource_check=warn)", stacklevel=2)
