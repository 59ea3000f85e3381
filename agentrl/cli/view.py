"""`agentrl view RUN_DIR|STORE`: a static HTML page of the stored episodes (screenshots with the actions
drawn on them, thoughts, actions, rewards; filters by task, outcome and run). Open OUT/index.html in a
browser; nothing is served.

    agentrl view runs/eval/toy-expert                 # an `agentrl eval` output
    agentrl view runs/store --run ppo --limit 200     # any trajectory store
"""

from __future__ import annotations

import argparse
from pathlib import Path

from agentrl.cli import UsageError, console


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("view", help="write a static HTML viewer of stored trajectories")
    p.add_argument("path", metavar="RUN_DIR|STORE", help="an eval output directory or a trajectory store")
    p.add_argument("--out", help="output directory (default: RUN_DIR/view)")
    p.add_argument("--run", help="only this run of the store (e.g. policy, baseline-expert, ppo)")
    p.add_argument("--limit", type=int, default=500, help="at most this many episodes (default 500)")
    p.set_defaults(func=cmd_view)


def cmd_view(args: argparse.Namespace) -> int:
    from agentrl.eval.viewer import build_viewer

    if args.limit < 1:
        raise UsageError(f"--limit: must be >= 1, got {args.limit}")
    out = Path(args.out) if args.out else Path(args.path) / "view"
    try:
        page, n = build_viewer(args.path, out, run=args.run, limit=args.limit)
    except ValueError as e:
        raise UsageError(str(e)) from None
    if n == 0:
        what = f"run '{args.run}'" if args.run else "the store"
        raise UsageError(f"{what} at '{args.path}' has no episodes to show")
    console.print(f"{n} episodes -> {page} (open it in a browser)")
    return 0
