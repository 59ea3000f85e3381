"""`agentrl rollout`: collect episodes with the current policy and write them to the trajectory store."""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

from agentrl.cli import UsageError, add_config_args, console
from agentrl.config import StrictModel, load_config
from agentrl.data.fs import StoreURL
from agentrl.launch.ray_init import RayConfig
from rollout.agent import AgentConfig
from rollout.collector import CollectorConfig
from rollout.engines.config import EngineConfig
from rollout.service import EnginePlacement


class RolloutConfig(StrictModel):
    run: str = "rollout"
    iteration: int = 0
    store: StoreURL = "runs/store"  # trajectory store: a path or an fsspec URL (s3://bucket/prefix, ...)
    tasks: list[str] = ["agentrl/toy.click-target-v0"]
    episodes: int = 16
    seed: int = 0  # episode i uses seed + i
    engine: EngineConfig = EngineConfig()
    placement: EnginePlacement = EnginePlacement()
    agent: AgentConfig = AgentConfig()
    collector: CollectorConfig = CollectorConfig()
    ray: RayConfig = RayConfig()


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("rollout", help="collect episodes with a policy and store the trajectories")
    add_config_args(p, default_config=None)
    p.set_defaults(func=cmd_rollout)


def cmd_rollout(args: argparse.Namespace) -> int:
    cfg = load_config(RolloutConfig, args.config, args.overrides)
    if cfg.episodes < 1:
        raise UsageError(f"episodes: must be >= 1, got {cfg.episodes}")
    if not (Path(cfg.engine.model) / "config.json").exists() and cfg.engine.resolved_kind() != "openai":
        raise UsageError(
            f"engine.model: '{cfg.engine.model}' has no config.json (agentrl model init {cfg.engine.model})"
        )
    from agentrl.data.store import StoreWriter, TrajectoryStore
    from envs.registry import UnknownEnvError
    from rollout.service import RolloutService, check_env_ids, task_list

    try:
        check_env_ids(cfg.tasks)
    except UnknownEnvError as e:
        raise UsageError(f"tasks: {e}") from None
    tasks = task_list(cfg.tasks, cfg.episodes, cfg.seed)
    store = TrajectoryStore(cfg.store)
    t0 = time.perf_counter()

    async def run() -> tuple[int, int, int]:
        from agentrl.cli.progress import EpisodeProgress

        service = RolloutService.start(cfg.engine, cfg.agent, cfg.collector, cfg.placement, cfg.ray)
        console.print(
            f"engine {cfg.engine.resolved_kind()} x{cfg.placement.replicas}, "
            f"{cfg.collector.env_workers} env workers x {cfg.collector.envs_per_worker} envs, "
            f"{len(tasks)} episodes over {len(cfg.tasks)} tasks"
        )
        try:
            with StoreWriter(store, cfg.run, cfg.iteration) as writer, EpisodeProgress(len(tasks)) as bar:
                async for traj in service.stream(tasks, meta={"run": cfg.run, "iteration": cfg.iteration}):
                    writer.add(traj)
                    bar.update(traj)
            return bar.done, bar.successes, bar.steps
        finally:
            await service.close()

    done, successes, steps = asyncio.run(run())
    store.write_manifest(cfg.run)
    dt = time.perf_counter() - t0
    console.print(
        f"{done} episodes, success {successes / max(1, done):.1%}, {steps} steps in {dt:.1f}s "
        f"-> {store.root} (run={cfg.run}, iteration={cfg.iteration})"
    )
    return 0
