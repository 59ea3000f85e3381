"""The `agentrl` command line. Each command group lives in its own module and registers itself here."""

from __future__ import annotations

import argparse
import sys

from rich.console import Console

from agentrl import __version__
from agentrl.config import ConfigError

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


class UsageError(ValueError):
    """Bad command-line input: printed as one line, exit code 2."""


def add_config_args(parser: argparse.ArgumentParser, default_config: str | None = None) -> None:
    parser.add_argument(
        "--config", default=default_config, help="YAML config file (defaults: the config model's)"
    )
    parser.add_argument(
        "overrides", nargs="*", metavar="KEY=VALUE", help="override config keys, e.g. train.lr=1e-4"
    )


def _cmd_version(args: argparse.Namespace) -> int:
    console.print(f"agentrl {__version__}")
    return 0


# Command modules under agentrl/cli/, one per line; each has `register(subparsers)`.
COMMAND_MODULES = (
    "data",
    "envs",
    "eval",
    "flywheel",
    "jobs",
    "merge",
    "model",
    "rollout",
    "serve",
    "submit",
    "train",
    "view",
)


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = argparse.ArgumentParser(
        prog="agentrl",
        description="Train GUI agents with multi-turn reinforcement learning.",
    )
    parser.add_argument("--version", action="version", version=f"agentrl {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("version", help="print the version")
    p.set_defaults(func=_cmd_version)
    for name in COMMAND_MODULES:
        importlib.import_module(f"agentrl.cli.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (ConfigError, UsageError) as e:
        err_console.print(f"[bold red]error:[/] {e}")
        return 2
    except KeyboardInterrupt:
        err_console.print("[yellow]interrupted[/]")
        return 130


if __name__ == "__main__":
    sys.exit(main())
