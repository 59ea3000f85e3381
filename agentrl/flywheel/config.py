"""The flywheel's configuration: which stages run, on which tasks, with how much compute."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import model_validator

from agentrl.config import StrictModel
from agentrl.train.config import BatchConfig, LearnerConfig, OptimConfig

Stage = Literal["demos", "ct", "sft", "ppo", "merge", "eval", "reject"]
STAGES: tuple[Stage, ...] = ("demos", "ct", "sft", "ppo", "merge", "eval", "reject")


class PerTaskEpisodes(StrictModel):
    """A number of episodes per task, with some tasks given their own (`per_task`: env id -> episodes)."""

    episodes_per_task: int
    per_task: dict[str, int] = {}

    def episodes(self, task: str) -> int:
        return self.per_task.get(task, self.episodes_per_task)

    def check_per_task(self, field: str, tasks: list[str], minimum: int) -> None:
        if unknown := [t for t in self.per_task if t not in tasks]:
            raise ValueError(f"{field}.per_task: {unknown} are not among the domains' tasks")
        if bad := {t: n for t, n in self.per_task.items() if n < minimum}:
            raise ValueError(f"{field}.per_task: episodes must be >= {minimum}, got {bad}")


class DemoSettings(PerTaskEpisodes):
    episodes_per_task: int = 600  # scripted-expert episodes per task (iteration 0 only), seeds 0..N-1
    # per_task: a task's share of the SFT's samples is its share of the demonstrations (a cheap expert's
    # task, the toy's, can have many more)

    def seeds_used(self, tasks: list[str]) -> int:
        """Training seeds 0..N-1 the demonstrations took on some task: later stages start past them."""
        return max((self.episodes(t) for t in tasks), default=0)


class TrainStage(StrictModel):
    steps: int = 300  # iteration 0
    later_steps: int | None = None  # iterations >= 1 (they start from a trained model); None: `steps`
    optim: OptimConfig = OptimConfig()
    batch: BatchConfig = BatchConfig()
    shuffle_buffer: int = 20000
    time_budget_s: float | None = None  # stop training here (SFTConfig.time_budget_s); None: no limit
    # SFT only (TrainData.fresh / shift_max_frac): tasks whose demos the scripted expert plays anew while
    # the SFT trains (cheap experts: the toy's), and the screen shift
    fresh_tasks: list[str] = []
    shift_max_frac: float = 0.0

    def steps_at(self, iteration: int) -> int:
        return self.steps if iteration == 0 or self.later_steps is None else self.later_steps


class PPOStage(StrictModel):
    config: str = "configs/ppo_tiny.yaml"  # the PPO run config every domain starts from
    iterations: int = 4
    overrides: list[str] = []  # KEY=VALUE applied to the PPO config, e.g. ["actor_optim.lr=1e-4"]


class MergeSettings(StrictModel):
    method: Literal["linear", "task_arithmetic"] = "linear"  # task_arithmetic: deltas from the SFT start
    weights: dict[str, float] | None = None  # per domain, normalised to sum to 1; None: equal weights


class EvalSettings(PerTaskEpisodes):
    episodes_per_task: int = 50  # greedy episodes on held-out seeds per task and checkpoint
    # per_task: a cheap env can afford the episodes a verdict needs when its floor is high (the toy's random
    # click succeeds ~20% of the time)
    parallel_envs: int = 2
    max_steps: int = 5  # agent steps per episode (the env's own budget may end it sooner)
    baseline_train_seeds: int = 30  # training seeds the best fixed click is searched on
    baseline_grid_step: int = 20


class RejectSettings(StrictModel):
    seeds_per_task: int = 100  # training seeds (after the demonstration seeds) played with the new model
    attempts: int = 2  # K samples per (task, seed): successes go to the SFT pool, failures to the CT pool
    temperature: float = 1.0


class FlywheelConfig(StrictModel):
    output_dir: str = "runs/flywheel"
    model: str = "runs/models/tiny"  # the starting policy (HF directory)
    init_preset: Literal["tiny", "small"] | None = (
        "tiny"  # build `model` with this preset when it does not exist
    )
    iterations: int = 2
    domains: dict[str, list[str]] = {
        "toy": ["agentrl/toy.click-target-v0"],
        "miniwob": ["agentrl/miniwob.click-button-v0", "agentrl/miniwob.click-link-v0"],
    }
    stages: list[Stage] = list(STAGES)  # leave a stage out to skip it (recorded as skipped in the report)
    demos: DemoSettings = DemoSettings()
    ct: TrainStage = TrainStage(steps=100)
    sft: TrainStage = TrainStage(steps=600)
    ppo: PPOStage = PPOStage()
    merge: MergeSettings = MergeSettings()
    eval: EvalSettings = EvalSettings()
    reject: RejectSettings = RejectSettings()
    learner: LearnerConfig = LearnerConfig(local=True)
    max_cpus: float | None = None  # what this machine offers the stages; None: os.cpu_count()

    @model_validator(mode="after")
    def _check(self) -> FlywheelConfig:
        if self.iterations < 1:
            raise ValueError("iterations must be >= 1")
        if not self.domains or any(not tasks for tasks in self.domains.values()):
            raise ValueError("domains: every domain needs at least one env id")
        if len(set(self.stages)) != len(self.stages):
            raise ValueError(f"stages: listed twice: {self.stages}")
        if self.ct.fresh_tasks or self.ct.shift_max_frac:
            raise ValueError("ct: fresh_tasks and shift_max_frac are for the sft stage only")
        self.demos.check_per_task("demos", self.tasks, minimum=0)
        self.eval.check_per_task("eval", self.tasks, minimum=1)
        if unknown := [t for t in self.sft.fresh_tasks if t not in self.tasks]:
            raise ValueError(f"sft.fresh_tasks: {unknown} are not among the domains' tasks")
        if self.merge.weights is not None and set(self.merge.weights) != set(self.domains):
            raise ValueError(f"merge.weights: keys must be the domains {sorted(self.domains)}")
        return self

    @property
    def tasks(self) -> list[str]:
        return [t for tasks in self.domains.values() for t in tasks]

    def as_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")
