"""`agentrl train pretrain|sft|ppo`: the learner's commands, with a progress bar and TensorBoard logs."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from agentrl.cli import UsageError, add_config_args, console
from agentrl.config import load_config


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train the policy: continual pre-training, SFT, PPO")
    tsub = p.add_subparsers(dest="train_command", metavar="STAGE", required=True)
    for name, help_ in (
        ("pretrain", "continual pre-training (next-token loss on all trajectory tokens)"),
        ("sft", "supervised fine-tuning on successful trajectories (loss on assistant turns)"),
    ):
        q = tsub.add_parser(name, help=help_)
        add_config_args(q)
        q.add_argument(
            "--resume", default=None, help="checkpoint directory, or 'auto' for the latest in output_dir"
        )
        q.set_defaults(func=cmd_sft, objective="ct" if name == "pretrain" else "sft")


def resolve_resume(arg: str | None, output_dir: str) -> Path | None:
    from agentrl.train.checkpoint import latest

    if arg is None:
        return None
    if arg == "auto":
        return latest(Path(output_dir))
    return Path(arg)


def training_progress(total: int) -> Progress:
    return Progress(
        TextColumn("[bold]step"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[stats]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    )


def cmd_sft(args: argparse.Namespace) -> int:
    from agentrl.train.checkpoint import CheckpointError
    from agentrl.train.data import DataError
    from agentrl.train.sft import SFTConfig, train

    cfg = load_config(SFTConfig, args.config, [f"objective={args.objective}", *args.overrides])
    resume = resolve_resume(args.resume, cfg.output_dir)
    progress = training_progress(cfg.steps)
    task = progress.add_task("train", total=cfg.steps, stats="")

    def on_step(step: int, m: dict[str, float]) -> None:
        progress.update(
            task,
            completed=step,
            stats=f"loss {m['loss']:.3f}  tok/s {m['tokens_per_s']:.0f}  "
            f"lr {m['lr']:.2e}  |g| {m['grad_norm']:.2f}",
        )

    try:
        with progress:
            if resume is not None:
                progress.update(task, completed=0, stats=f"resuming from {resume}")
            final = train(cfg, resume, on_step)
    except (CheckpointError, DataError) as e:
        raise UsageError(str(e)) from None
    console.print(
        f"{cfg.objective.upper()} done: {cfg.steps} steps -> {final}  (TensorBoard: {Path(cfg.output_dir) / 'tb'})"
    )
    return 0
