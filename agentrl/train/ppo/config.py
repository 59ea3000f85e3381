"""The PPO run's configuration: the loop, the learners, the rollout pool, the engines and the evaluation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pydantic import Field, model_validator

from agentrl.config import EVAL_SEED_START, ConfigError, StrictModel
from agentrl.data.fs import StoreURL
from agentrl.launch.ray_init import RayConfig
from agentrl.train.config import LearnerConfig, OptimConfig
from agentrl.train.ppo.advantages import AdvantageConfig
from agentrl.train.ppo.batch import RewardShaping, StalenessConfig
from agentrl.train.ppo.losses import EPS_HIGH, EPS_LOW
from rollout.agent import AgentConfig
from rollout.collector import CollectorConfig
from rollout.engines.base import SamplingConfig
from rollout.engines.config import EngineConfig
from rollout.service import EnginePlacement


class PPOHyper(StrictModel):
    eps_low: float = EPS_LOW
    eps_high: float = EPS_HIGH  # clip-higher
    epochs: int = 1
    minibatches: int = 1
    kl_coef: float = 0.0  # KL to the reference (the starting policy); off by default
    entropy_coef: float = 0.0
    value_clip: float | None = None
    micro_batch_size: int = 8


class RolloutPool(StrictModel):
    tasks: list[str] = ["agentrl/toy.click-target-v0"]
    seed_start: int = 0
    group_size: int = Field(1, ge=1)  # episodes per (task, seed): GRPO groups, released to updates whole
    seed_count: int = Field(0, ge=0)  # 0: a new seed for every group; n > 0: groups cycle over n seeds
    min_batch: int = 16  # trajectories in the pool before an update starts (a multiple of group_size)
    max_batch: int = 64  # at most this many are used per update (a multiple of group_size)

    @model_validator(mode="after")
    def _whole_groups(self) -> RolloutPool:
        for name in ("min_batch", "max_batch"):
            n = getattr(self, name)
            if n < self.group_size or n % self.group_size:
                raise ValueError(
                    f"pool.{name}={n}: must be a positive multiple of pool.group_size={self.group_size} "
                    "(updates hold whole groups)"
                )
        if self.max_batch < self.min_batch:
            raise ValueError(f"pool.max_batch={self.max_batch}: must be >= pool.min_batch={self.min_batch}")
        return self


class EvalSettings(StrictModel):
    episodes: int = 0  # per evaluation on held-out seeds; 0: no evaluation
    every: int = 0  # iterations between evaluations (0: only before and after)
    seed_start: int = EVAL_SEED_START


class PPOConfig(StrictModel):
    model: str = "runs/sft/final"  # the policy to start from (an SFT checkpoint)
    critic_model: str | None = None  # backbone for the critic; default: the policy's
    output_dir: str = "runs/ppo"
    run: str = "ppo"  # trajectory-store run name
    store: StoreURL = "runs/store"  # trajectory store: a path or an fsspec URL (s3://bucket/prefix, ...)
    mode: Literal["async", "sync"] = "async"
    iterations: int = 20
    time_budget_s: float = 0.0  # > 0: no iteration starts after this long (the before/after evals excluded)
    value_pretrain_iterations: int = 0  # critic-only iterations (lambda = 1) before PPO
    advantage: AdvantageConfig = AdvantageConfig()  # advantage.estimator: gae | grpo
    ppo: PPOHyper = PPOHyper()
    rewards: RewardShaping = RewardShaping()
    staleness: StalenessConfig = StalenessConfig()
    pool: RolloutPool = RolloutPool()
    engine: EngineConfig = EngineConfig()
    placement: EnginePlacement = EnginePlacement()
    # true: actor, critic, reference and engine replica r share bundle r of one placement group, the members'
    # GPU shares summing to <= 1 (verl's hybrid engine); false: each group in its own (agentrl.train.ppo.placement)
    colocate: bool = False
    agent: AgentConfig = AgentConfig(sampling=SamplingConfig(temperature=1.0, max_tokens=48))
    collector: CollectorConfig = CollectorConfig()
    actor: LearnerConfig = LearnerConfig()
    critic: LearnerConfig = LearnerConfig()
    actor_optim: OptimConfig = OptimConfig(lr=2e-5, warmup_steps=0)
    critic_optim: OptimConfig = OptimConfig(lr=1e-4, warmup_steps=0)
    eval: EvalSettings = EvalSettings()
    save_every: int = 1
    ray: RayConfig = RayConfig()

    @property
    def uses_critic(self) -> bool:
        """GRPO's advantages are group-relative: no value model is built, trained or saved."""
        return self.advantage.estimator != "grpo"

    @model_validator(mode="after")
    def _check_fields_together(self) -> PPOConfig:
        if self.agent.sampling.temperature <= 0:
            raise ValueError(
                f"agent.sampling.temperature={self.agent.sampling.temperature:g}: PPO needs a sampling policy, "
                "use > 0 (1.0: the model's own distribution)"
            )
        if self.value_pretrain_iterations and not self.uses_critic:
            raise ValueError(
                f"value_pretrain_iterations={self.value_pretrain_iterations}: estimator {self.advantage.estimator} has "
                "no critic to pre-train; use 0"
            )
        if self.colocate:
            validate(self)
        return self


# -- colocation: what shares each bundle, and whether it fits (agentrl.train.ppo.placement places it) --------


@dataclass(frozen=True)
class Member:
    """One kind of actor in every bundle (the engine only in the first `placement.replicas`)."""

    name: str
    cpus: float
    gpus: float
    count: int  # bundles holding one of these
    memory_gb: float = 0.0
    resources: dict[str, float] = field(default_factory=dict)  # Ray custom resources


def members(cfg: PPOConfig) -> list[Member]:
    n, e = cfg.actor.world_size, cfg.placement

    def ranks(name: str, c: LearnerConfig) -> Member:
        return Member(
            name, c.num_cpus_per_worker, c.num_gpus_per_worker, n, c.memory_gb_per_worker, c.resources
        )

    out = [ranks("actor", cfg.actor)]
    if cfg.uses_critic:
        out.append(ranks("critic", cfg.critic))
    if cfg.ppo.kl_coef > 0:
        out.append(ranks("reference", cfg.actor))
    out.append(Member("engine", e.num_cpus, e.num_gpus, e.replicas, e.memory_gb, e.resources))
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
