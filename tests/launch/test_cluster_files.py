"""configs/cluster/: the `ray up` YAML and the KubeRay RayJob parse, hold the GPU PPO run config, keep env
workers off the GPU nodes, use the images docker/ builds, and agree with pyproject (no cluster runs here)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

from agentrl.config import load_config
from agentrl.launch.cluster_files import capacity_of, kuberay_groups, ray_up_nodes
from agentrl.launch.resources import ResourceError, check, summary
from agentrl.train.ppo.config import PPOConfig
from agentrl.train.ppo.placement import ppo_demand

REPO = Path(__file__).resolve().parents[2]
CLUSTER = REPO / "configs/cluster"
FILES = ["ray-cluster.yaml", "rayjob.yaml"]
RUN = CLUSTER / "ppo_gpu.yaml"
COLOCATED = CLUSTER / "ppo_gpu_colocated.yaml"


def _groups(name: str) -> dict[str, tuple[int, dict[str, float]]]:
    data = yaml.safe_load((CLUSTER / name).read_text())
    return kuberay_groups(data) if data.get("kind") == "RayJob" else ray_up_nodes(data)


def _built_images() -> dict[str, str]:
    """image tag -> 'gpu'|'cpu', from the build command written in each Dockerfile."""
    out = {}
    for kind in ("gpu", "cpu"):
        text = (REPO / f"docker/Dockerfile.{kind}").read_text()
        out[re.search(r"docker build -f docker/Dockerfile\.\w+ -t (\S+) \.", text).group(1)] = kind
    return out


@pytest.mark.parametrize("name", FILES)
def test_the_gpu_run_fits_the_cluster(name):
    demands = ppo_demand(load_config(PPOConfig, RUN))
    check(demands, capacity_of(CLUSTER / name))
    bigger = ppo_demand(load_config(PPOConfig, RUN, ["actor.world_size=16"]))
    with pytest.raises(ResourceError, match=rf"GPU: the run asks for 28 .* cluster file {name} has 20$"):
        check(bigger, capacity_of(CLUSTER / name))


@pytest.mark.parametrize("name", FILES)
def test_the_colocated_run_fits_in_fewer_gpus_with_whole_gpu_bundles(name):
    """Colocated, the same run asks 8 bundles of {GPU 1, CPU 4} (one per actor rank) instead of 20 GPUs."""
    demands = ppo_demand(load_config(PPOConfig, COLOCATED))
    check(demands, capacity_of(CLUSTER / name))
    bundles = [d for d in demands if d.gpus]
    assert [(d.count, d.gpus, d.cpus) for d in bundles] == [(8, 1.0, 4.0)]
    assert summary(demands)["GPU"] == 8 < summary(ppo_demand(load_config(PPOConfig, RUN)))["GPU"] == 20
    over = ppo_demand(
        load_config(
            PPOConfig, COLOCATED, ["actor.world_size=24", "critic.world_size=24", "placement.replicas=24"]
        )
    )
    with pytest.raises(
        ResourceError, match=r"GPU: the run asks for 24 \(colocated bundles 24 x 1\), .* has 20$"
    ):
        check(over, capacity_of(CLUSTER / name))


@pytest.mark.parametrize("name", FILES)
def test_env_workers_cannot_land_on_gpu_nodes(name):
    """GPU nodes announce exactly the CPUs their GPU actors ask, so CPU-only actors go to CPU nodes."""
    demands = ppo_demand(load_config(PPOConfig, RUN))
    gpu_actors = [d for d in demands if d.gpus]
    assert {d.cpus / d.gpus for d in gpu_actors} == {4.0}
    groups = _groups(name)
    for _, res in groups.values():
        if res.get("GPU"):
            assert res["CPU"] == 4.0 * res["GPU"]
    cpu_only = sum(count * res["CPU"] for count, res in groups.values() if not res.get("GPU"))
    assert sum(d.total("CPU") for d in demands if not d.gpus) <= cpu_only
    assert sum(d.total("GPU") for d in demands) == sum(c * r.get("GPU", 0) for c, r in groups.values())


@pytest.mark.parametrize("name", FILES)
def test_each_role_asks_for_the_resource_only_its_node_type_declares(name):
    """ppo_gpu.yaml pins learners, engines and env workers by custom resources; each is declared on exactly
    one worker type, and a cluster file without the env nodes' resource is refused naming it."""
    custom = {d.name: set(d.custom) for d in ppo_demand(load_config(PPOConfig, RUN))}
    assert custom == {"actor": {"learner_node"}, "critic": {"learner_node"}, "engines": {"engine_node"},
                      "env workers": {"env_node"}}  # fmt: skip
    declared = {role: [g for g, (_, res) in _groups(name).items() if role in res] for role in
                ("learner_node", "engine_node", "env_node")}  # fmt: skip
    assert all(len(groups) == 1 for groups in declared.values()), declared
    capacity = capacity_of(CLUSTER / name)
    capacity.totals.pop("env_node")
    capacity.nodes = [{k: v for k, v in n.items() if k != "env_node"} for n in capacity.nodes]
    with pytest.raises(ResourceError, match=r"^resources: env_node: the run asks for 0.33 \(env workers 33"):
        check(ppo_demand(load_config(PPOConfig, RUN)), capacity)


def test_images_are_the_ones_docker_builds_and_carry_the_package_version():
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    built = _built_images()
    assert all(tag.endswith(f":{version}") for tag in built)
    up = yaml.safe_load((CLUSTER / "ray-cluster.yaml").read_text())
    assert built[up["docker"]["head_image"]] == "cpu" and built[up["docker"]["worker_image"]] == "gpu"
    for name, t in up["available_node_types"].items():
        image = t.get("docker", {}).get("worker_image", up["docker"]["worker_image"])
        if name != up["head_node_type"]:
            assert built[image] == ("gpu" if t["resources"].get("GPU") else "cpu"), name
    job = yaml.safe_load((CLUSTER / "rayjob.yaml").read_text())["spec"]["rayClusterSpec"]
    for g in [job["headGroupSpec"], *job["workerGroupSpecs"]]:
        c = g["template"]["spec"]["containers"][0]
        gpus = c.get("resources", {}).get("limits", {}).get("nvidia.com/gpu")
        assert built[c["image"]] == ("gpu" if gpus else "cpu"), g.get("groupName", "head")


def test_rayjob_runs_a_config_the_image_holds_with_a_ray_pyproject_allows():
    job = yaml.safe_load((CLUSTER / "rayjob.yaml").read_text())
    workdir = re.search(r"^WORKDIR (\S+)", (REPO / "docker/Dockerfile.gpu").read_text(), re.M).group(1)
    config = re.search(r"--config (\S+)", job["spec"]["entrypoint"]).group(1)
    assert config.startswith(workdir + "/") and (REPO / config[len(workdir) + 1 :]).resolve() == RUN
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    ray_req = next(Requirement(d) for d in deps if Requirement(d).name == "ray")
    assert ray_req.specifier.contains(job["spec"]["rayClusterSpec"]["rayVersion"])


def test_every_pod_and_node_mounts_the_shared_paths_of_the_run():
    cfg = load_config(PPOConfig, RUN)
    assert all(p.startswith("/shared/") for p in (cfg.model, cfg.output_dir, cfg.store))
    up = yaml.safe_load((CLUSTER / "ray-cluster.yaml").read_text())
    assert "-v /shared:/shared" in up["docker"]["run_options"]
    spec = yaml.safe_load((CLUSTER / "rayjob.yaml").read_text())["spec"]["rayClusterSpec"]
    for g in [spec["headGroupSpec"], *spec["workerGroupSpecs"]]:
        mounts = g["template"]["spec"]["containers"][0]["volumeMounts"]
        assert {"name": "shared", "mountPath": "/shared"} in mounts


def test_jobs_fit_command(capsys):
    from agentrl.cli import main

    base = ["jobs", "fit", "--cluster", str(CLUSTER / "ray-cluster.yaml"), "--config", str(RUN)]
    assert main(base) == 0 and "fits" in capsys.readouterr().out
    assert main([*base, "placement.replicas=8"]) == 2
    assert "GPU: the run asks for 24" in capsys.readouterr().err
