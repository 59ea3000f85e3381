"""What a cluster file provides, as a Capacity the resource check understands: a `ray up` cluster YAML
(node types x max_workers, their `resources`) or a KubeRay RayCluster/RayJob manifest (groups x replicas, each
pod's `rayStartParams` or else its container limits, as KubeRay itself derives them). Lets a run config be
checked against a cluster before the cluster exists."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agentrl.config import ConfigError, load_yaml
from agentrl.launch.resources import Capacity

OBJECT_STORE_FRACTION = 0.3  # Ray's default: this share of a node's memory goes to the object store
_SUFFIXES = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}


def _quantity(value: Any) -> float:
    """A Kubernetes quantity: "500m" CPUs, "64Gi" bytes, "8"."""
    s = str(value)
    if s.endswith("m"):
        return float(s[:-1]) / 1000
    for suffix, factor in _SUFFIXES.items():
        if s.endswith(suffix):
            return float(s[: -len(suffix)]) * factor
    return float(s)


def _totals(nodes: list[dict[str, float]]) -> dict[str, float]:
    out: dict[str, float] = {}
    for n in nodes:
        for k, v in n.items():
            out[k] = out.get(k, 0.0) + v
    return out


def ray_up_nodes(data: dict[str, Any]) -> dict[str, tuple[int, dict[str, float]]]:
    """node type -> (how many at most, resources of one)."""
    types = data.get("available_node_types") or {}
    head = data.get("head_node_type")
    out = {}
    for name, t in types.items():
        if "resources" not in t:
            raise ConfigError(
                f"cluster: node type '{name}' has no `resources` (CPU, GPU): say what it offers"
            )
        count = 1 if name == head else int(t.get("max_workers", 0))
        out[name] = (count, {k: float(v) for k, v in t["resources"].items()})
    return out


def kuberay_groups(data: dict[str, Any]) -> dict[str, tuple[int, dict[str, float]]]:
    """group -> (pods, Ray resources of one pod) for a RayJob or a RayCluster manifest."""
    spec = data["spec"].get("rayClusterSpec", data["spec"])
    groups = [("head", spec["headGroupSpec"], 1)]
    groups += [(g["groupName"], g, int(g.get("replicas", 0))) for g in spec.get("workerGroupSpecs", [])]
    out = {}
    for name, g, count in groups:
        params = g.get("rayStartParams") or {}
        limits = g["template"]["spec"]["containers"][0].get("resources", {}).get("limits", {})
        res = {"CPU": _quantity(params.get("num-cpus", limits.get("cpu", 0)))}
        gpus = params.get("num-gpus", limits.get("nvidia.com/gpu", 0))
        if _quantity(gpus):
            res["GPU"] = _quantity(gpus)
        if "memory" in limits:
            res["memory"] = _quantity(limits["memory"]) * (1 - OBJECT_STORE_FRACTION)
        res.update(_custom(params.get("resources")))
        out[name] = (count, res)
    return out


def _custom(value: str | None) -> dict[str, float]:
    """rayStartParams `resources`: KubeRay's JSON string, itself quoted ('"{\\"env_node\\": 100}"')."""
    parsed = json.loads(value) if value else {}
    parsed = json.loads(parsed) if isinstance(parsed, str) else parsed
    return {k: float(v) for k, v in parsed.items()}


def capacity_of(path: str | Path) -> Capacity:
    """The Capacity of a cluster file, `ray up` YAML or KubeRay manifest (told apart by `kind`)."""
    data = load_yaml(path)
    kind = data.get("kind")
    groups = kuberay_groups(data) if kind in ("RayJob", "RayCluster") else ray_up_nodes(data)
    nodes = [dict(res) for count, res in groups.values() for _ in range(count)]
    return Capacity(_totals(nodes), nodes, f"cluster file {Path(path).name}")
