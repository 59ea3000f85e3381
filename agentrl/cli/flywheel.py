"""`agentrl flywheel`: the main job. CT -> SFT -> PPO per domain -> merge -> eval -> rejection sampling, iterated."""

from __future__ import annotations

import argparse
import time

from agentrl.cli import add_config_args, console


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("flywheel", help="run (or continue) the whole training pipeline and write its report")
    add_config_args(p, default_config="configs/flywheel_tiny.yaml")
    p.set_defaults(func=cmd_flywheel)


def cmd_flywheel(args: argparse.Namespace) -> int:
    import envs
    from agentrl.cli import err_console
    from agentrl.flywheel.pipeline import StageError, load, run

    cfg = load(args.config, args.overrides)
    t0 = time.monotonic()

    def log(msg: str) -> None:
        console.print(f"[dim]{time.monotonic() - t0:6.0f}s[/dim] {msg}")

    try:
        report = run(cfg, log)
    except envs.UnknownEnvError as e:
        err_console.print(f"[bold red]error:[/] domains: {e}")
        return 2
    except StageError as e:
        err_console.print(f"[bold red]error:[/] {e}")
        return 1
    console.print(f"report: {report} (and {report.with_suffix('.html')})")
    console.print(report.read_text())
    return 0
