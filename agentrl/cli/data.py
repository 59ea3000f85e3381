"""`agentrl data`: the flywheel's data from the command line.

agentrl data demos  --env ID [--env ID ...] --episodes N   scripted-expert episodes into the SFT pool
agentrl data import FILE.jsonl                             external or exported trajectories (with images)
agentrl data export --format jsonl|hf --out DIR            a pool, run or query to JSONL+PNG or HF datasets
agentrl data stats                                         per-task counts and success rates, pools
agentrl data show ID --out PAGE.html                       one trajectory as an HTML page
agentrl data route [--validator env]                       validate the store and fill the SFT/CT pools
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

from agentrl.cli import UsageError, console, err_console

DEFAULT_STORE = "runs/store"
DEFAULT_MODEL = "runs/models/tiny"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help="trajectory store: demos, import, export, stats, show, route")
    dsub = p.add_subparsers(dest="data_command", metavar="SUBCOMMAND", required=True)

    d = dsub.add_parser("demos", help="scripted-expert demonstrations into the SFT pool")
    _store_arg(d)
    d.add_argument("--env", action="append", required=True, metavar="ID", help="env id (repeatable)")
    d.add_argument("--episodes", type=int, required=True, help="episodes per env")
    d.add_argument("--seed", type=int, default=0, help="first seed (episode i plays seed + i)")
    d.add_argument("--model", default=DEFAULT_MODEL, help="policy model dir whose tokenizer the demos use")
    d.add_argument("--history-images", type=int, default=1, help="K: screenshots kept in full in prompts")
    _run_args(d, "demos")
    d.set_defaults(func=cmd_demos)

    i = dsub.add_parser("import", help="import trajectories from JSONL (with images) and route them")
    _store_arg(i)
    i.add_argument("file", help="JSONL file; image paths relative to it")
    i.add_argument("--model", default=None, help="tokenizer for demonstrations without token ids")
    _run_args(i, "imported")
    i.set_defaults(func=cmd_import)

    e = dsub.add_parser("export", help="export a pool or query to JSONL+PNG or a HF dataset")
    _store_arg(e)
    _query_args(e)
    e.add_argument("--format", choices=["jsonl", "hf"], default="jsonl")
    e.add_argument("--out", required=True, help="output directory")
    e.set_defaults(func=cmd_export)

    s = dsub.add_parser("stats", help="per-task counts and success rates")
    _store_arg(s)
    _query_args(s)
    s.set_defaults(func=cmd_stats)

    w = dsub.add_parser("show", help="one trajectory as an HTML page with its screenshots and actions")
    _store_arg(w)
    w.add_argument("id", help="trajectory id or a unique prefix of it")
    w.add_argument("--out", default=None, help="HTML file (default: trajectory-<id>.html)")
    w.set_defaults(func=cmd_show)

    r = dsub.add_parser("route", help="validate stored trajectories: V=1 -> sft pool, V=0 -> ct pool")
    _store_arg(r)
    _query_args(r)
    r.add_argument("--no-dedup", action="store_true", help="keep identical action sequences of a task")
    r.set_defaults(func=cmd_route)


def _store_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--store",
        default=DEFAULT_STORE,
        help=f"trajectory store root: a path or an fsspec URL such as s3://bucket/prefix (default {DEFAULT_STORE})",
    )


def _run_args(p: argparse.ArgumentParser, run: str) -> None:
    p.add_argument("--run", default=run, help=f"store run to write (default {run})")
    p.add_argument("--iteration", type=int, default=0)


def _query_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--pool", default=None, help="only members of this pool (sft, ct, ...)")
    p.add_argument("--run", default=None)
    p.add_argument("--iteration", type=int, default=None)
    p.add_argument("--task", default=None, help="env id or id prefix")
    p.add_argument("--success", choices=["true", "false"], default=None)


def _query(args: argparse.Namespace):
    from agentrl.data.query import Query

    success = None if args.success is None else args.success == "true"
    return Query(run=args.run, iteration=args.iteration, task=args.task, success=success, pool=args.pool)


def _open_store(path: str, must_exist: bool = True):
    from agentrl.data.fs import StoreURLError, open_root
    from agentrl.data.store import TrajectoryStore

    try:
        root = open_root(path)
    except StoreURLError as e:
        raise UsageError(f"--store: {e}") from None
    try:
        exists = root.is_dir("parts")
    except Exception as e:  # a remote store: no such bucket, no credentials, endpoint down (botocore, ...)
        first = (str(e).strip().splitlines() or [""])[0][:200]
        raise UsageError(f"--store: cannot read '{path}': {type(e).__name__}: {first}") from None
    if must_exist and not exists:
        raise UsageError(f"--store: '{path}' is not a trajectory store (no parts/ directory)")
    return TrajectoryStore(path)


def _check_pool(store, pool: str | None) -> None:
    if pool is not None and pool not in store.pools.names():
        known = ", ".join(store.pools.names()) or "none yet (agentrl data route)"
        raise UsageError(f"--pool: no pool '{pool}' in {store.root}; pools: {known}")


def _report_errors(store) -> None:
    for e in store.errors:
        err_console.print(f"[yellow]warning:[/] {e}")


def _tokenizer(model: str):
    if not (Path(model) / "config.json").exists():
        raise UsageError(f"--model: '{model}' has no config.json (agentrl model init tiny {model})")
    from agentrl.models.loading import load_processor

    return load_processor(model).tokenizer


# -- demos -----------------------------------------------------------------------------------------------
def cmd_demos(args: argparse.Namespace) -> int:
    import envs
    from envs.registry import UnknownEnvError

    if args.episodes < 1:
        raise UsageError(f"--episodes: must be >= 1, got {args.episodes}")
    for env_id in args.env:
        try:
            spec = envs.spec(env_id)
        except UnknownEnvError as e:
            raise UsageError(f"--env: {e}") from None
        if not spec.has_expert:
            raise UsageError(f"--env: '{env_id}' has no scripted expert (agentrl envs list shows which do)")
    tokenizer = _tokenizer(args.model)
    store = _open_store(args.store, must_exist=False)
    from agentrl.cli.progress import EpisodeProgress
    from agentrl.data.routing import Deduper, RouteStats, route
    from agentrl.data.store import StoreWriter
    from agentrl.data.validate import env_verdict
    from rollout.agent import AgentConfig
    from rollout.engines.scripted import ExpertEngine
    from rollout.episode import run_episode
    from rollout.local_env import LocalEnv

    cfg = AgentConfig(history_images=args.history_images)
    deduper, totals = Deduper(store), RouteStats()
    t0 = time.perf_counter()

    async def run(bar: EpisodeProgress) -> None:
        env, writer = LocalEnv(), StoreWriter(store, args.run, args.iteration)
        try:
            for k in range(args.episodes):
                for env_id in args.env:  # interleaved: any window of the stream mixes the envs
                    t = await run_episode(ExpertEngine(tokenizer), env, tokenizer, cfg, env_id, args.seed + k)
                    bar.update(t)
                    _route(writer.add(t))  # pool entries only for committed trajectories
            _route(writer.close())
        finally:
            env.close()

    def _route(batch) -> None:
        nonlocal totals
        totals += route(store, batch, [env_verdict(t) for t in batch], deduper)

    with EpisodeProgress(args.episodes * len(args.env), "demos") as bar:
        asyncio.run(run(bar))
    store.write_manifest(args.run)
    console.print(
        f"{bar.done} expert episodes, success {bar.successes / max(1, bar.done):.1%}, in {time.perf_counter() - t0:.1f}s "
        f"-> {store.root} (run={args.run}); pools: sft +{totals.sft}, ct +{totals.ct}, "
        f"{totals.duplicates} duplicates left out"
    )
    return 0


# -- import / export -------------------------------------------------------------------------------------
def cmd_import(args: argparse.Namespace) -> int:
    from agentrl.data.exchange import ExchangeError, import_jsonl
    from agentrl.data.routing import Deduper, RouteStats, route
    from agentrl.data.validate import env_verdict

    tokenizer = _tokenizer(args.model) if args.model else None
    store = _open_store(args.store, must_exist=False)
    try:
        trajs = list(import_jsonl(args.file, tokenizer))  # all lines checked before anything is written
    except ExchangeError as e:
        raise UsageError(str(e)) from None
    if not trajs:
        raise UsageError(f"{args.file}: no trajectories in the file")
    deduper, totals = Deduper(store), RouteStats()
    for k in range(0, len(trajs), 256):
        batch = trajs[k : k + 256]
        store.write(batch, args.run, args.iteration)
        totals += route(store, batch, [env_verdict(t) for t in batch], deduper)
    store.write_manifest(args.run)
    console.print(
        f"imported {len(trajs)} trajectories into {store.root} (run={args.run}); "
        f"pools: sft +{totals.sft}, ct +{totals.ct}, {totals.duplicates} duplicates left out"
    )
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from agentrl.data.exchange import export_hf, export_jsonl

    store = _open_store(args.store)
    _check_pool(store, args.pool)
    q = _query(args)
    if store.count(q) == 0:
        raise UsageError(f"nothing to export: no trajectory in {store.root} matches {q.describe()}")
    out = Path(args.out)
    if out.exists() and any(out.iterdir()):
        raise UsageError(f"--out: '{out}' exists and is not empty")
    n = (export_hf if args.format == "hf" else export_jsonl)(store.query(q), out)
    _report_errors(store)
    console.print(f"exported {n} trajectories ({q.describe()}) as {args.format} -> {out}")
    return 0


# -- stats / show / route --------------------------------------------------------------------------------
def cmd_stats(args: argparse.Namespace) -> int:
    from agentrl.data.tasks import task_stats

    store = _open_store(args.store)
    _check_pool(store, args.pool)
    q = _query(args)
    per_env: dict[str, list[float]] = {}  # env id -> [trajectories, successes, steps, seeds]
    for t in task_stats(store, q):
        a = per_env.setdefault(t.env_id, [0, 0, 0.0, 0])
        a[0], a[1], a[2], a[3] = (
            a[0] + t.attempts,
            a[1] + t.successes,
            a[2] + t.mean_steps * t.attempts,
            a[3] + 1,
        )
    width = max([len(e) for e in per_env] + [4])
    lines = [
        f"{store.root}: {q.describe()}",
        f"{'task':<{width}}  trajectories  successes  success rate  mean steps  seeds",
    ]
    for env_id, (n, k, steps, seeds) in sorted(per_env.items()):
        lines.append(
            f"{env_id:<{width}}  {int(n):>12}  {int(k):>9}  {k / n:>12.1%}  {steps / n:>10.2f}  {int(seeds):>5}"
        )
    n_all, k_all = sum(a[0] for a in per_env.values()), sum(a[1] for a in per_env.values())
    lines.append(f"{'all':<{width}}  {int(n_all):>12}  {int(k_all):>9}  {k_all / max(1, n_all):>12.1%}")
    console.print("\n".join(lines), markup=False)
    pools = store.pools.names()
    if pools:
        console.print("pools: " + ", ".join(f"{p} {len(store.pools.ids(p))}" for p in pools))
    console.print("runs: " + (", ".join(store.runs()) or "none"))
    _report_errors(store)
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from agentrl.data.page import trajectory_html
    from agentrl.data.store import StoreError

    store = _open_store(args.store)
    try:
        t = store.get(args.id)
    except StoreError as e:
        raise UsageError(str(e)) from None
    out = Path(args.out or f"trajectory-{t.id[:12]}.html")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(trajectory_html(t))
    console.print(
        f"{t.env_id} seed {t.seed}, {t.num_steps} turns, {'success' if t.success else 'failure'} -> {out}"
    )
    return 0


def cmd_route(args: argparse.Namespace) -> int:
    from agentrl.data.routing import route_store
    from agentrl.data.validate import make_validator

    store = _open_store(args.store)
    _check_pool(store, args.pool)
    stats = asyncio.run(route_store(store, make_validator("env"), _query(args), dedup=not args.no_dedup))
    _report_errors(store)
    console.print(f"validator env: sft +{stats.sft}, ct +{stats.ct}, {stats.duplicates} duplicates left out")
    return 0
