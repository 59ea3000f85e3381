"""Continual pre-training (CT) and SFT: stream samples, take optimizer steps, log, checkpoint, resume.

Read top to bottom: validate inputs -> start the learner group -> (resume) -> for each step: next global
batch -> train_step -> log -> checkpoint. Nothing is computed before every input has been checked.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from agentrl.config import StrictModel, dump_config
from agentrl.data.augment import PointTokens
from agentrl.launch import resources
from agentrl.launch.ray_init import RayConfig, init_ray
from agentrl.launch.resources import Demand, count_parameters
from agentrl.train import checkpoint as ckpt
from agentrl.train.config import BatchConfig, CheckpointConfig, LearnerConfig, OptimConfig, learner_demand
from agentrl.train.data import TrainData, first_trainable, sample_stream
from agentrl.train.fresh import FreshDemosError, check_tasks
from agentrl.train.tensorboard import summary_writer


class SFTConfig(StrictModel):
    objective: Literal["sft", "ct"] = "sft"
    model: str = "runs/models/tiny"  # HF directory (or hub id) to start from
    output_dir: str = "runs/sft"
    steps: int = 300
    # stop after this many seconds of training even if `steps` are not done (the final checkpoint says so:
    # state.json "stopped_at_budget"); machines of one kind differ by up to 2x. None: no limit
    time_budget_s: float | None = None
    log_every: int = 10
    data: TrainData = TrainData()
    learner: LearnerConfig = LearnerConfig()
    optim: OptimConfig = OptimConfig()
    batch: BatchConfig = BatchConfig()
    checkpoint: CheckpointConfig = CheckpointConfig()
    ray: RayConfig = RayConfig()


def _image_token_id(model: str) -> int:
    return json.loads((Path(model) / "config.json").read_text())["image_token_id"]


def point_tokens(cfg: SFTConfig) -> PointTokens | None:
    """What the screen shift (`data.shift_max_frac`) rewrites points with; None when it is off, or when the
    model's tokenizer splits integers (a pretrained one: then the SFT says so and trains unshifted)."""
    if cfg.objective != "sft" or cfg.data.shift_max_frac <= 0:
        return None
    from agentrl.models.loading import load_processor

    points = PointTokens.of(load_processor(cfg.model).tokenizer)
    if points is None:
        print(f"sft: data.shift_max_frac={cfg.data.shift_max_frac} is off: '{cfg.model}' splits integers")
    return points


def preflight(cfg: SFTConfig, resume: Path | None) -> dict[str, Any]:
    """Every check that can fail, before any compute: model, data, trainable tokens, resume directory."""
    model = Path(cfg.model)
    if not (model / "config.json").exists():
        raise ckpt.CheckpointError(f"model: '{cfg.model}' has no config.json")
    cfgjson = json.loads((model / "config.json").read_text())
    if "vision_config" not in cfgjson:
        raise ckpt.CheckpointError(f"model: '{cfg.model}' is not a vision-language model")
    state: dict[str, Any] = {"step": 0, "samples_seen": 0}
    if resume is not None:
        state = ckpt.validate_resume(resume, cfg.learner.world_size)
        ckpt.check_same_architecture(model, resume)
    if cfg.data.fresh.tasks and cfg.objective != "sft":
        raise FreshDemosError("data.fresh.tasks: fresh expert demos are for objective sft only")
    check_tasks(cfg.data.fresh)
    first_trainable(sample_stream(cfg.data, cfg.objective, _image_token_id(cfg.model), cfg.learner.seed))
    return state


def _fresh_tokenizer(cfg: SFTConfig) -> Any:
    """The model's tokenizer when `data.fresh.tasks` asks for fresh demos (they are tokenized as recorded)."""
    if not cfg.data.fresh.tasks:
        return None
    from agentrl.models.loading import load_processor

    return load_processor(cfg.model).tokenizer


def train(
    cfg: SFTConfig, resume: Path | None = None, on_step: Callable[[int, dict[str, float]], None] | None = None
) -> Path:
    """Run CT or SFT; returns the final HF directory."""
    from agentrl.train.group import LearnerGroup

    out = Path(cfg.output_dir)
    state = preflight(cfg, resume)
    out.mkdir(parents=True, exist_ok=True)
    dump_config(cfg, out / "config.yaml")
    if not cfg.learner.local:
        init_ray(cfg.ray)
        resources.preflight(sft_demand(cfg), cfg.ray)  # or one line naming the resource
    group = LearnerGroup(cfg.model, cfg.learner, cfg.optim, cfg.steps)
    writer = summary_writer(out)
    try:
        if resume is not None:
            group.load(str(resume))
        step, seen = int(state["step"]), int(state["samples_seen"])
        stream = sample_stream(
            cfg.data, cfg.objective, _image_token_id(cfg.model), cfg.learner.seed, skip=seen,
            points=point_tokens(cfg), tokenizer=_fresh_tokenizer(cfg),
        )  # fmt: skip
        t0 = time.perf_counter()
        tokens = 0.0
        stopped = False
        while step < cfg.steps:
            if cfg.time_budget_s is not None and time.perf_counter() - t0 > cfg.time_budget_s:
                stopped = True
                print(
                    f"{cfg.objective}: time budget {cfg.time_budget_s:.0f} s reached at step {step}/{cfg.steps}"
                )
                break
            batch = list(itertools.islice(stream, cfg.batch.global_batch_size))
            seen += len(batch)
            m = group.train_step(batch, cfg.batch.micro_batch_size)
            step += 1
            tokens += m.get("batch_tokens", 0.0)
            m["loss"] = m["nll_sum"] / max(m["tokens"], 1.0)
            m["tokens_per_s"] = tokens / max(time.perf_counter() - t0, 1e-9)
            if writer is not None and (step % cfg.log_every == 0 or step == cfg.steps):
                for k in ("loss", "grad_norm", "lr", "tokens_per_s"):
                    writer.add_scalar(f"train/{k}", m[k], step)
            if on_step:
                on_step(step, m)
            if step % cfg.checkpoint.save_every_steps == 0 and step < cfg.steps:
                group.save(str(ckpt.step_dir(out, step)), {"samples_seen": seen, "objective": cfg.objective})
                ckpt.rotate(out, cfg.checkpoint.keep_last)
        final = out / "final"
        group.save(
            str(final), {"samples_seen": seen, "objective": cfg.objective, "stopped_at_budget": stopped}
        )
        return final
    finally:
        if writer is not None:
            writer.close()
        group.shutdown()


def sft_demand(cfg: SFTConfig) -> list[Demand]:
    return learner_demand("learner", cfg.learner, count_parameters(cfg.model))
