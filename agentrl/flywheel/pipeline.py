"""Run the flywheel's stages in order, iteration after iteration, with a ledger that makes it resumable.

    output_dir/
      state.json          the ledger: every (iteration, stage) with its status and summary
      config.yaml         the config the run was started with
      store/              the trajectory store: demos, PPO rollouts, rejection samples (the pools)
      iter-K/{ct,sft,ppo-<domain>,merged}/   every stage's checkpoints (TensorBoard logs in their tb/)
      baselines.json      random click, best fixed click, expert, on the held-out seeds
      report.md, report.html

A stage left out of `stages` is recorded as "skipped" (never silently); one that does not apply (the
demonstrations after iteration 0) as "not-applicable". A stage that raises stops the pipeline with the
stage named and is recorded as "failed"; everything before it is kept and a re-run continues there (the
training stages resume from their own latest checkpoint).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from agentrl.config import ConfigError, dump_config, load_config
from agentrl.flywheel.config import STAGES, FlywheelConfig
from agentrl.flywheel.stages import STAGE_FUNCTIONS, Context, Log


class StageError(RuntimeError):
    """A stage failed; the message names it. Re-running the same command continues from it."""


class Ledger:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: dict[str, dict[str, Any]] = json.loads(path.read_text()) if path.exists() else {}

    def get(self, it: int, stage: str) -> dict[str, Any] | None:
        return self.entries.get(f"{it}/{stage}")

    def record(self, it: int, stage: str, status: str, **fields: Any) -> None:
        self.entries[f"{it}/{stage}"] = {"iteration": it, "stage": stage, "status": status, **fields}
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.entries, indent=2))
        tmp.replace(self.path)  # atomic: a kill never leaves a half-written ledger


def ppo_cpus(cfg: FlywheelConfig) -> float:
    """CPUs the PPO stage reserves on Ray: what PPOTrainer starts (agentrl.train.ppo.placement.ppo_demand)."""
    from agentrl.launch.resources import summary
    from agentrl.train.ppo.config import PPOConfig
    from agentrl.train.ppo.placement import ppo_demand

    return summary(ppo_demand(load_config(PPOConfig, cfg.ppo.config, list(cfg.ppo.overrides))))["CPU"]


def preflight(cfg: FlywheelConfig) -> None:
    """Refuse, before the first stage, a config whose stages cannot run here."""
    import envs

    for task in cfg.tasks:
        envs.spec(task)  # unknown ids: UnknownEnvError with a suggestion
    cpus = cfg.max_cpus or float(os.cpu_count() or 1)
    if "ppo" in cfg.stages:
        need = ppo_cpus(cfg)
        if need > cpus:
            raise ConfigError(
                f"ppo: the PPO config {cfg.ppo.config} reserves {need:g} CPUs (engines, actor, critic, env workers)"
                f" but this machine has {cpus:g}; lower its placement/num_cpus settings"
            )
    if not cfg.learner.local and cfg.learner.world_size * cfg.learner.num_cpus_per_worker > cpus:
        raise ConfigError(
            f"learner: world_size x num_cpus_per_worker = {cfg.learner.world_size * cfg.learner.num_cpus_per_worker:g}"
            f" CPUs, this machine has {cpus:g}"
        )
    if cfg.learner.num_gpus_per_worker > 0:
        import torch

        if torch.cuda.device_count() < cfg.learner.world_size * cfg.learner.num_gpus_per_worker:
            raise ConfigError(
                f"learner: asks for {cfg.learner.world_size * cfg.learner.num_gpus_per_worker:g} GPUs,"
                f" this machine has {torch.cuda.device_count()}"
            )
    if "demos" not in cfg.stages and {"ct", "sft"} & set(cfg.stages):
        store = Path(cfg.output_dir) / "store"
        if not store.exists():
            raise ConfigError(f"stages: ct/sft need data but 'demos' is skipped and {store} does not exist")


def run(cfg: FlywheelConfig, log: Log = print) -> Path:
    """Run (or continue) the pipeline; returns the report's path."""
    from agentrl.flywheel.report import write_report

    out = Path(cfg.output_dir)
    preflight(cfg)
    out.mkdir(parents=True, exist_ok=True)
    if not Path(cfg.model).exists():
        if cfg.init_preset is None:
            raise ConfigError(f"model: '{cfg.model}' does not exist (set init_preset to build one)")
        from agentrl.models.factory import init_model

        log(f"building the {cfg.init_preset} model at {cfg.model}")
        init_model(cfg.init_preset, Path(cfg.model), seed=0)
    dump_config(cfg, out / "config.yaml")
    ledger = Ledger(out / "state.json")
    ctx = Context(cfg, out, log)
    for it in range(cfg.iterations):
        for stage in STAGES:
            prior = ledger.get(it, stage)
            if prior and prior["status"] in ("done", "not-applicable"):
                continue
            if stage not in cfg.stages:
                ledger.record(it, stage, "skipped")
                log(f"[iteration {it}] {stage}: skipped (not in stages)")
                continue
            log(f"[iteration {it}] {stage} ...")
            t0 = time.monotonic()
            try:
                summary = STAGE_FUNCTIONS[stage](ctx, it)
            except KeyboardInterrupt:
                ledger.record(it, stage, "interrupted", seconds=time.monotonic() - t0)
                raise
            except Exception as e:
                first = (str(e).strip().splitlines() or [""])[0][:300]
                ledger.record(
                    it, stage, "failed", error=f"{type(e).__name__}: {first}", seconds=time.monotonic() - t0
                )
                raise StageError(
                    f"stage '{stage}' of iteration {it} failed: {type(e).__name__}: {first}"
                    f" (everything before it is kept in {out}; re-run the same command to continue)"
                ) from e
            status = summary.pop("status", "done")
            ledger.record(it, stage, status, seconds=round(time.monotonic() - t0, 1), summary=summary)
            log(f"[iteration {it}] {stage}: {status} in {time.monotonic() - t0:.0f} s")
        write_report(cfg, ledger.entries, out)
    return write_report(cfg, ledger.entries, out)


def load(path: str | None, overrides: list[str]) -> FlywheelConfig:
    return load_config(FlywheelConfig, path, overrides)
