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
    q = tsub.add_parser("ppo", help="multi-turn PPO from an SFT checkpoint (asynchronous rollouts)")
    add_config_args(q)
    q.add_argument(
        "--resume", default=None, help="checkpoint directory, or 'auto' for the latest in output_dir"
    )
    q.set_defaults(func=cmd_ppo)


def resolve_resume(arg: str | None, output_dir: str, kind: str = "step") -> Path | None:
    """`--resume`: a checkpoint directory, or "auto" for the latest complete `<kind>-N` one in output_dir."""
    from agentrl.train.checkpoint import latest

    if arg is None:
        return None
    if arg == "auto":
        return latest(Path(output_dir), kind)
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
        disable=not console.is_terminal,  # in logs and CI, lines are printed instead of a live bar
    )


def cmd_sft(args: argparse.Namespace) -> int:
    from agentrl.train.checkpoint import CheckpointError
    from agentrl.train.data import DataError
    from agentrl.train.fresh import FreshDemosError
    from agentrl.train.sft import SFTConfig, train

    cfg = load_config(SFTConfig, args.config, [f"objective={args.objective}", *args.overrides])
    resume = resolve_resume(args.resume, cfg.output_dir)
    progress = training_progress(cfg.steps)
    task = progress.add_task("train", total=cfg.steps, stats="")

    last = [0]  # the last step trained (below cfg.steps when the time budget stopped the run)

    def on_step(step: int, m: dict[str, float]) -> None:
        last[0] = step
        stats = (
            f"loss {m['loss']:.3f}  tok/s {m['tokens_per_s']:.0f}  lr {m['lr']:.2e}  |g| {m['grad_norm']:.2f}"
        )
        progress.update(task, completed=step, stats=stats)
        if not console.is_terminal and (step % cfg.log_every == 0 or step == cfg.steps):
            console.print(f"step {step}/{cfg.steps}  {stats}")

    try:
        with progress:
            if resume is not None:
                progress.update(task, completed=0, stats=f"resuming from {resume}")
            final = train(cfg, resume, on_step)
    except (CheckpointError, DataError, FreshDemosError) as e:
        raise UsageError(str(e)) from None
    console.print(
        f"{cfg.objective.upper()} done: {last[0] or cfg.steps}/{cfg.steps} steps -> {final}  "
        f"(TensorBoard: {Path(cfg.output_dir) / 'tb'})"
    )
    return 0


def cmd_ppo(args: argparse.Namespace) -> int:
    import asyncio

    from agentrl.train.checkpoint import CheckpointError
    from agentrl.train.ppo.config import PPOConfig
    from agentrl.train.ppo.loop import PPOTrainer

    cfg = load_config(PPOConfig, args.config, args.overrides)
    if not (Path(cfg.model) / "config.json").exists():
        raise UsageError(f"model: '{cfg.model}' has no config.json (train one with `agentrl train sft`)")
    resume = resolve_resume(args.resume, cfg.output_dir, kind="iter")
    progress = training_progress(cfg.iterations)
    task = progress.add_task("ppo", total=cfg.iterations, stats="")

    def on_iteration(it: int, row: dict[str, float]) -> None:
        if row["kind"] == "train" and not console.is_terminal:
            console.print(
                f"iteration {it}/{cfg.iterations}  "
                + "  ".join(
                    f"{k} {row[k]:.3g}"
                    for k in (
                        "reward_mean",
                        "success_rate",
                        "approx_kl",
                        "clipfrac",
                        "explained_variance",
                        "iteration_s",
                    )
                    if k in row
                )
            )
        if row["kind"] == "train":
            progress.update(
                task,
                completed=it,
                stats=(
                    f"reward {row.get('reward_mean', 0):.2f}  success {row.get('success_rate', 0):.0%}  "
                    f"kl {row.get('approx_kl', 0):.3f}  clip {row.get('clipfrac', 0):.2f}  "
                    f"EV {row.get('explained_variance', float('nan')):.2f}  "
                    f"tok/s {row.get('response_tokens', 0) / max(row.get('iteration_s', 1e-9), 1e-9):.0f}"
                ),
            )
        elif row["kind"] == "eval":
            progress.console.print(f"eval @ {it}: success {row.get('eval_success', 0):.1%}")

    try:
        with progress:
            report = asyncio.run(PPOTrainer(cfg, resume, on_iteration).run())
    except CheckpointError as e:
        raise UsageError(str(e)) from None
    before, after = report.get("before", {}), report.get("after", {})
    if before or after:
        console.print(
            f"held-out success: before {before.get('eval_success', float('nan')):.1%} -> "
            f"after {after.get('eval_success', float('nan')):.1%}"
        )
    console.print(f"PPO done: {cfg.iterations} iterations -> {cfg.output_dir}")
    return 0
