"""The resource preflight: what a run config asks, against a real local Ray (the session's 2-CPU instance) and
against capacities written down as data (a GPU cluster cannot run here)."""

from __future__ import annotations

import asyncio

import pytest

from agentrl.config import ConfigError, load_config
from agentrl.launch.ray_init import RayConfig
from agentrl.launch.resources import (
    Capacity,
    Demand,
    GiB,
    ResourceError,
    check,
    count_parameters,
    preflight,
)
from agentrl.train.ppo.config import PPOConfig
from agentrl.train.ppo.loop import PPOTrainer
from agentrl.train.ppo.placement import ppo_demand
from agentrl.train.sft import SFTConfig, sft_demand


def _ppo(model, tmp_path, *over):
    base = [f"model={model}", f"output_dir={tmp_path / 'ppo'}", f"store={tmp_path / 'store'}",
            "collector.env_workers=1"]  # fmt: skip
    return load_config(PPOConfig, "configs/ppo_tiny.yaml", base + list(over))


def test_grpo_starts_no_critic(tiny_model_dir, tmp_path):
    """GRPO's advantages are group-relative: no critic is asked for, and pre-training one is refused."""
    names = {
        d.name
        for d in ppo_demand(
            _ppo(tiny_model_dir, tmp_path, "advantage.estimator=grpo", "value_pretrain_iterations=0")
        )
    }
    assert names == {"actor", "engines", "env workers"}
    with pytest.raises(
        ConfigError, match=r"^config: value_pretrain_iterations=2: estimator grpo has no critic"
    ):
        _ppo(
            tiny_model_dir, tmp_path, "advantage.estimator=grpo"
        )  # ppo_tiny.yaml pre-trains the critic 2 iterations


def test_count_parameters_reads_safetensors_headers(tiny_model_dir):
    import torch
    from transformers import AutoModelForImageTextToText

    model = AutoModelForImageTextToText.from_pretrained(tiny_model_dir, dtype=torch.float32)
    assert count_parameters(tiny_model_dir) == sum(p.numel() for p in model.parameters())  # tied once
    assert count_parameters("Qwen/Qwen2.5-VL-7B-Instruct") is None  # not on this machine: no floor


def test_ppo_tiny_demand_adds_up_to_the_two_cpus_of_this_machine(tiny_model_dir, tmp_path):
    demands = ppo_demand(_ppo(tiny_model_dir, tmp_path))
    by_name = {d.name: d for d in demands}
    assert set(by_name) == {"actor", "critic", "engines", "env workers"}
    assert by_name["env workers"].count == 2  # training workers + the evaluation collector's one
    assert sum(d.total("CPU") for d in demands) == 2.0
    assert sum(d.total("GPU") for d in demands) == 0.0
    params = count_parameters(tiny_model_dir)
    assert (
        by_name["actor"].total("memory") == 16 * params and by_name["engines"].total("memory") == 4 * params
    )
    kl = {d.name for d in ppo_demand(_ppo(tiny_model_dir, tmp_path, "ppo.kl_coef=0.1"))}
    assert "reference" in kl


def test_check_names_the_resource_what_was_asked_and_what_exists():
    demands = [Demand("actor", "actor.world_size", 8, 4, 1), Demand("critic", "critic.world_size", 8, 4, 1),
               Demand("engines", "placement.replicas", 4, 4, 1)]  # fmt: skip
    nodes = [{"CPU": 96, "GPU": 8}] * 2
    with pytest.raises(ResourceError) as e:
        check(demands, Capacity({"CPU": 192, "GPU": 16}, nodes))
    msg = str(e.value)
    assert "\n" not in msg
    assert msg.startswith("resources: GPU: the run asks for 20") and msg.endswith("the cluster has 16")
    assert "actor 8 x 1 + critic 8 x 1 + engines 4 x 1" in msg
    check(demands, Capacity({"CPU": 192, "GPU": 20}, nodes + [{"CPU": 48, "GPU": 4}]))  # fits


def test_check_refuses_an_actor_no_single_node_can_hold():
    demands = [Demand("engines", "placement.replicas x placement.num_gpus", 1, 8, 8)]
    with pytest.raises(ResourceError, match="one of the engines asks for 8 .* largest node .* has 4"):
        check(demands, Capacity({"CPU": 96, "GPU": 8}, [{"CPU": 48, "GPU": 4}] * 2))


def test_check_memory_floor():
    demands = [Demand("actor", "actor.world_size", 2, 1, 0, 3 * GiB)]
    with pytest.raises(ResourceError, match=r"memory: the run asks for at least 6.0 GiB .* has 4.0 GiB"):
        check(demands, Capacity({"CPU": 4, "memory": 4 * GiB}))
    check(demands, Capacity({"CPU": 4}))  # a cluster file that does not say its memory: not checked


def test_memory_reservations_per_actor_count_in_the_demand(tiny_model_dir, tmp_path):
    """actor.memory_gb_per_worker, placement.memory_gb, collector.worker_memory_gb: Ray reserves them, the
    preflight counts them (above the per-parameter floor), and too much is refused naming memory."""
    cfg = _ppo(tiny_model_dir, tmp_path, "actor.memory_gb_per_worker=2", "placement.memory_gb=1",
               "collector.worker_memory_gb=0.5")  # fmt: skip
    memory = {d.name: d.memory_bytes for d in ppo_demand(cfg)}
    assert memory["actor"] == 2 * GiB and memory["engines"] == 1 * GiB and memory["env workers"] == GiB / 2
    assert memory["critic"] < GiB  # no reservation: the floor of 16 bytes per parameter only
    with pytest.raises(
        ResourceError, match=r"^resources: memory: the run asks for at least 4.\d GiB .* has 3.0 GiB$"
    ):
        check(ppo_demand(cfg), Capacity({"CPU": 2, "memory": 3 * GiB}))


def test_node_roles_ask_for_their_custom_resources_and_a_missing_one_is_named(tiny_model_dir, tmp_path):
    """collector/placement/actor.resources pin env workers, engines and learner ranks to nodes: each Demand
    carries them, and a resource no node declares is named with the actors asking and how to declare it."""
    cfg = _ppo(tiny_model_dir, tmp_path, "collector.resources={env_node: 0.01}",
               "actor.resources={learner_node: 0.5}", "critic.resources={learner_node: 0.5}",
               "placement.resources={engine_node: 1}")  # fmt: skip
    custom = {d.name: d.custom for d in ppo_demand(cfg)}
    assert custom == {"actor": {"learner_node": 0.5}, "critic": {"learner_node": 0.5},
                      "engines": {"engine_node": 1.0}, "env workers": {"env_node": 0.01}}  # fmt: skip
    nodes = [{"CPU": 1}, {"CPU": 1, "learner_node": 100}, {"CPU": 1, "engine_node": 100}]
    with pytest.raises(ResourceError) as e:
        check(ppo_demand(cfg), Capacity({"CPU": 3, "learner_node": 100, "engine_node": 100}, nodes))
    assert str(e.value) == (
        "resources: env_node: the run asks for 0.02 (env workers 2 x 0.01), the cluster has 0; declare it "
        """on the nodes for the env workers (ray start --resources='{"env_node": 100}')"""
    )
    nodes.append({"CPU": 1, "env_node": 100})
    check(
        ppo_demand(cfg), Capacity({"CPU": 4, "learner_node": 100, "engine_node": 100, "env_node": 100}, nodes)
    )


@pytest.mark.parametrize(
    ("over", "message"),
    [("actor.resources={CPU: 1}", "resources: CPU is Ray's own resource; set it with the num_cpus"),
     ("collector.resources={env_node: -1}", "resources: env_node: -1 must be >= 0")],
)  # fmt: skip
def test_a_resources_field_refuses_ray_own_names_and_negative_amounts(
    tiny_model_dir, tmp_path, over, message
):
    with pytest.raises(ConfigError, match=message):
        _ppo(tiny_model_dir, tmp_path, over)


def test_a_custom_resource_split_over_nodes_must_fit_one_actor_on_one_node():
    demands = [Demand("actor", "actor.world_size", 2, 1, custom={"learner_node": 2})]
    capacity = Capacity({"CPU": 4, "learner_node": 4}, [{"CPU": 2, "learner_node": 1}] * 2 + [{"CPU": 2}])
    with pytest.raises(ResourceError) as e:
        check(demands, capacity)
    assert str(e.value).startswith(
        "resources: learner_node: one of the actor asks for 2, the largest node of the cluster has 1; "
        "declare it on the nodes for the actor"
    )


def test_custom_resources_go_into_bundles_and_colocated_demand(tiny_model_dir, tmp_path):
    from agentrl.launch.placement import bundle_shape
    from agentrl.train.ppo.placement import bundles

    assert bundle_shape(1, 0, 0, {"learner_node": 0.01, "unused": 0}) == {"CPU": 1, "learner_node": 0.01}
    cfg = _ppo(tiny_model_dir, tmp_path, "colocate=true", "actor.resources={gpu_node: 0.25}",
               "critic.resources={gpu_node: 0.25}", "placement.resources={gpu_node: 0.5}")  # fmt: skip
    assert bundles(cfg) == [{"CPU": 1.5, "gpu_node": 1.0}]
    by_name = {d.name: d for d in ppo_demand(cfg)}
    assert by_name["colocated bundles"].custom == {"gpu_node": 1.0}


def test_vllm_tensor_parallel_needs_as_many_gpus_per_replica(tiny_model_dir, tmp_path):
    cfg = _ppo(tiny_model_dir, tmp_path, "engine.kind=vllm", "engine.tensor_parallel_size=2",
               "placement.num_gpus=1")  # fmt: skip
    with pytest.raises(ResourceError, match="engine.tensor_parallel_size=2 needs 2"):
        ppo_demand(cfg)


def test_preflight_against_the_live_local_cluster(ray_local, tiny_model_dir, tmp_path):
    preflight(ppo_demand(_ppo(tiny_model_dir, tmp_path)), RayConfig())  # 2.0 CPUs on 2: fits
    big = ppo_demand(_ppo(tiny_model_dir, tmp_path, "actor.world_size=3"))
    with pytest.raises(ResourceError, match=r"CPU: the run asks for 3 \(actor 3 x 0.5 .*the cluster has 2$"):
        preflight(big, RayConfig())
    with pytest.warns(UserWarning, match="continuing: ray.resource_check=warn"):
        preflight(big, RayConfig(resource_check="warn"))
    preflight(big, RayConfig(resource_check="off"))


def test_ppo_refuses_before_any_actor_starts(ray_local, tiny_model_dir, tmp_path):
    cfg = _ppo(tiny_model_dir, tmp_path, "actor.num_gpus_per_worker=1", "critic.num_gpus_per_worker=1")
    before = _reserved(ray_local)
    with pytest.raises(
        ResourceError, match=r"GPU: the run asks for 2 \(actor 1 x 1 \+ critic 1 x 1\), .* has 0"
    ):
        asyncio.run(PPOTrainer(cfg).run())
    assert _reserved(ray_local) == before  # no placement group, no actor


def _reserved(ray) -> tuple[int, float]:
    """Placement groups ever created, and CPUs held now."""
    return len(ray.util.placement_group_table()), ray.available_resources().get("CPU", 0.0)


def test_sft_refuses_before_the_learner_starts(ray_local, tiny_model_dir, tmp_path, tiny_tokenizer):
    from agentrl.train.sft import train

    store = _one_demo_store(tmp_path / "store", tiny_tokenizer)
    cfg = SFTConfig(model=str(tiny_model_dir), output_dir=str(tmp_path / "sft"), steps=1,
                    data={"store": str(store)}, learner={"world_size": 4})  # fmt: skip
    assert sum(d.total("CPU") for d in sft_demand(cfg)) == 4
    with pytest.raises(ResourceError, match=r"CPU: the run asks for 4 \(learner 4 x 1\), the cluster has 2"):
        train(cfg)
    assert not (tmp_path / "sft" / "final").exists()


def _one_demo_store(root, tokenizer):
    from agentrl.data.store import StoreWriter, TrajectoryStore
    from rollout.agent import AgentConfig
    from rollout.engines.scripted import ExpertEngine
    from rollout.episode import run_episode
    from rollout.local_env import LocalEnv

    async def make():
        env = LocalEnv()
        try:
            with StoreWriter(TrajectoryStore(root), "demos", 0) as w:
                w.add(await run_episode(ExpertEngine(tokenizer), env, tokenizer, AgentConfig(),
                                        "agentrl/toy.click-target-v0", 0))  # fmt: skip
        finally:
            env.close()

    asyncio.run(make())
    return root
