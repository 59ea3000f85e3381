"""`agentrl merge`: parameter interpolation of checkpoints; `agentrl merge search`: find the weights.

agentrl merge --base SFT_DIR --ckpt A:0.5 --ckpt B:0.5 -o OUT [--method linear|task_arithmetic|slerp]
agentrl merge search --ckpt A --ckpt B [--ckpt C] --suite NAME|FILE [--resolution 4] -o OUT
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from agentrl.cli import UsageError, console


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "merge",
        help="merge checkpoints by parameter interpolation (theta = sum_k alpha_k theta_k)",
        description="Merge checkpoints of one base model tensor by tensor. Subcommand: search.",
    )
    _common(p, weights=True)
    p.set_defaults(func=cmd_merge)
    msub = p.add_subparsers(dest="merge_command", metavar="search")
    q = msub.add_parser("search", help="evaluate a grid of weights on validation seeds, keep the best merge")
    _common(q, weights=False)
    q.add_argument("--suite", required=True, help="suite name (configs/merge_suites.yaml) or a YAML file")
    q.add_argument("--resolution", type=int, default=4, help="grid step 1/N over the simplex (default 4)")
    q.add_argument("--episodes", type=int, default=None, help="episodes per task (default: the suite's)")
    q.add_argument("--parallel", type=int, default=2, help="envs played at once (default 2)")
    q.add_argument("--max-steps", type=int, default=10, help="steps per episode (default 10)")
    q.add_argument("--work", default=None, help="scores and temporary merges (default: OUT.search)")
    q.set_defaults(func=cmd_search)


def _common(p: argparse.ArgumentParser, weights: bool) -> None:
    what = "DIR:ALPHA (alpha omitted on every --ckpt: equal weights)" if weights else "DIR"
    p.add_argument(
        "--ckpt", action="append", default=[], metavar=what.split(" ")[0], help=f"a checkpoint, {what}"
    )
    p.add_argument("--base", default=None, help="the model they were fine-tuned from (needed for LoRA adapters "
                   "and task_arithmetic)")  # fmt: skip
    p.add_argument("-o", "--out", default=None, help="output directory (must not exist or be empty)")
    p.add_argument(
        "--method", default="linear", help="linear (default), task_arithmetic or slerp (2 checkpoints)"
    )
    if weights:
        p.add_argument(
            "--allow-extrapolation", action="store_true", help="allow weights < 0 or not summing to 1"
        )


def parse_ckpt(item: str) -> tuple[Path, float | None]:
    """`DIR:0.5` -> (DIR, 0.5); `DIR` -> (DIR, None). A directory whose name holds ':' works when a weight
    follows (only the last ':' splits)."""
    head, sep, tail = item.rpartition(":")
    if sep:
        try:
            return Path(head), float(tail)
        except ValueError:
            pass
    return Path(item), None


def _spec(args: argparse.Namespace, weights_given: bool):
    from agentrl.merge import METHODS, MergeSpec

    if args.method not in METHODS:
        raise UsageError(f"--method: unknown '{args.method}'; allowed: {', '.join(METHODS)}")
    if not args.ckpt:
        raise UsageError("--ckpt: give at least one checkpoint (--ckpt DIR:ALPHA)")
    if not args.out:
        raise UsageError("-o/--out: the output directory is required")
    parsed = [parse_ckpt(c) for c in args.ckpt]
    alphas = [a for _, a in parsed]
    if not weights_given:
        if any(a is not None for a in alphas):
            raise UsageError("--ckpt: merge search takes plain directories (the search picks the weights)")
        if len(parsed) < 2:
            raise UsageError("--ckpt: merge search needs at least 2 checkpoints")
        alphas = [0.0] * len(parsed)
    elif all(a is None for a in alphas):
        alphas = [1.0 / len(parsed)] * len(parsed)
    elif any(a is None for a in alphas):
        missing = args.ckpt[alphas.index(None)]
        raise UsageError(f"--ckpt: '{missing}' has no weight; give every checkpoint one (DIR:ALPHA) or none")
    return MergeSpec(
        checkpoints=[p for p, _ in parsed],
        weights=[float(a) for a in alphas],  # type: ignore[arg-type]
        out=Path(args.out),
        base=Path(args.base) if args.base else None,
        method=args.method,
        allow_extrapolation=getattr(args, "allow_extrapolation", False),
    )


def cmd_merge(args: argparse.Namespace) -> int:
    from agentrl.merge import MergeError, merge

    spec = _spec(args, weights_given=True)
    t0 = time.perf_counter()
    try:
        out = merge(spec)
    except MergeError as e:
        raise UsageError(str(e)) from None
    desc = ", ".join(f"{a:g} x {p}" for p, a in zip(spec.checkpoints, spec.weights))
    console.print(f"merged ({spec.method}) {desc} in {time.perf_counter() - t0:.1f}s -> {out}")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from rich.table import Table

    from agentrl.merge import MergeError
    from agentrl.merge.plot import plot_success_vs_alpha
    from agentrl.merge.search import episode_scorer, load_suite, search

    spec = _spec(args, weights_given=False)
    suite = load_suite(args.suite)
    if args.episodes is not None:
        suite = suite.model_copy(update={"episodes_per_task": args.episodes})
    if args.resolution < 1:
        raise UsageError(f"--resolution: must be >= 1, got {args.resolution}")
    work = Path(args.work) if args.work else spec.out.with_name(spec.out.name + ".search")
    t0 = time.perf_counter()
    try:
        result = search(spec, suite, args.resolution, work, episode_scorer(args.parallel, args.max_steps),
                        log=lambda m: console.print(f"[dim]{time.perf_counter() - t0:6.0f}s[/dim] {m}"))  # fmt: skip
    except MergeError as e:
        raise UsageError(str(e)) from None
    names = [
        p.name if p.name not in ("final", "actor") else f"{p.parent.name}/{p.name}" for p in spec.checkpoints
    ]
    table = Table(title=f"merge search on {args.suite} ({suite.episodes_per_task} episodes per task)")
    for n in names:
        table.add_column(f"alpha {n}", justify="right")
    tasks = list(result["rows"][0]["success"])
    for t in tasks:
        table.add_column(t.split("/")[-1], justify="right")
    table.add_column("mean", justify="right")
    for r in result["rows"]:
        mark = "[bold green]" if r is result["best"] else ""
        table.add_row(*[f"{mark}{a:.3g}" for a in r["alphas"]], *[f"{r['success'][t]:.2f}" for t in tasks],
                      f"{mark}{r['mean']:.3f}")  # fmt: skip
    console.print(table)
    summary = {**result, "checkpoints": [str(p) for p in spec.checkpoints], "suite": suite.model_dump()}
    (work / "search_result.json").write_text(json.dumps(summary, indent=2))
    if len(spec.checkpoints) == 2:
        png = plot_success_vs_alpha(result["rows"], (names[0], names[1]), work / "success_vs_alpha.png")
        console.print(f"plot: {png}")
    console.print(
        f"best alpha {result['best']['alphas']} (mean {result['best']['mean']:.3f}) -> {result['out']}"
    )
    return 0
