"""`agentrl eval`: benchmark a policy on a suite's held-out seeds, compare two results, plot curves.

    agentrl eval --model runs/sft/final --suite miniwob-easy --episodes 20 --workers 2
    agentrl eval --endpoint http://127.0.0.1:8000/v1 --model PROCESSOR_DIR --suite toy
    agentrl eval --policy expert --suite toy --out runs/eval/toy-expert
    agentrl eval compare runs/eval/a/result.json runs/eval/b/result.json
    agentrl eval curves runs/ppo runs/sft --tag eval_success --out curves.png
    agentrl eval suites

Run again with the same --out to resume: finished episodes are not played again. Agent, engine and
collector settings: `--config FILE.yaml` (agentrl.eval.run.EvalConfig) and `--set agent.system_prompt=uitars`.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import time
from pathlib import Path

from agentrl.cli import UsageError, console


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="benchmark a policy on a suite (success with 95%% intervals, baselines)")
    who = p.add_argument_group("the policy (one of)")
    who.add_argument("--model", help="HF model directory of a VLM (with --endpoint/--policy: the processor)")
    who.add_argument(
        "--endpoint", help="base URL of an OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1"
    )
    who.add_argument("--policy", help="a scripted policy: expert or random")
    p.add_argument(
        "--served-model", help="with --endpoint: the model name on the server (default: its first)"
    )
    p.add_argument("--suite", help="a suite name (agentrl eval suites) or a suite YAML file")
    p.add_argument("--episodes", type=int, help="episodes per task (default: the suite's)")
    p.add_argument("--workers", type=int, help="env worker processes (default 2)")
    p.add_argument("--out", help="output directory (default: runs/eval/SUITE-POLICY); reused to resume")
    p.add_argument(
        "--baselines",
        help="comma-separated from random_click, best_fixed_click (slow: a grid search per task), expert, "
        "or 'none' (default: random_click,expert)",
    )
    p.add_argument("--config", help="YAML file for agentrl.eval.run.EvalConfig (agent, engine, collector)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="config override")
    p.set_defaults(func=cmd_eval)
    esub = p.add_subparsers(dest="eval_command", metavar="ACTION")

    q = esub.add_parser("compare", help="per-task differences of two results with significance")
    q.add_argument("a", metavar="A.json")
    q.add_argument("b", metavar="B.json")
    q.add_argument("--out", help="markdown file (default: compare.md beside B)")
    q.set_defaults(func=cmd_compare)

    q = esub.add_parser("curves", help="learning curves (PNG) from training runs' TensorBoard logs")
    q.add_argument("runs", nargs="+", metavar="RUN_DIR")
    q.add_argument("--tag", action="append", required=True, help="scalar tag, e.g. eval_success (repeatable)")
    q.add_argument("--out", default="curves.png", help="PNG file (default: curves.png)")
    q.set_defaults(func=cmd_curves)

    q = esub.add_parser("suites", help="the named suites")
    q.set_defaults(func=cmd_suites)


def _config(args: argparse.Namespace):
    from agentrl.config import load_config
    from agentrl.eval.results import BASELINES
    from agentrl.eval.run import EvalConfig

    cfg = load_config(EvalConfig, args.config, args.set)
    if args.endpoint and args.policy:
        raise UsageError("--endpoint and --policy: give one policy, not both")
    if args.endpoint:
        policy = "endpoint"
    elif args.policy:
        from agentrl.eval.policies import SCRIPTED

        if args.policy not in SCRIPTED:
            raise UsageError(f"--policy: unknown '{args.policy}'; allowed: {', '.join(SCRIPTED)}")
        policy = args.policy
    elif args.model:
        policy = "model"
    else:
        raise UsageError("the policy: give --model DIR, --endpoint URL or --policy expert|random")
    update = {"policy": policy}
    engine = {"model": args.model} if args.model else {}
    if args.endpoint:
        engine.update(endpoint=args.endpoint, served_model=args.served_model, kind="openai")
    update["engine"] = cfg.engine.model_copy(update=engine)
    if args.episodes is not None:
        if args.episodes < 1:
            raise UsageError(f"--episodes: must be >= 1, got {args.episodes}")
        update["episodes"] = args.episodes
    if args.workers is not None:
        if args.workers < 1:
            raise UsageError(f"--workers: must be >= 1, got {args.workers}")
        per = cfg.collector.envs_per_worker
        update["collector"] = cfg.collector.model_copy(
            update={"env_workers": args.workers, "max_in_flight": args.workers * per}
        )
    if args.baselines is not None:
        names = (
            [] if args.baselines == "none" else [b.strip() for b in args.baselines.split(",") if b.strip()]
        )
        bad = [b for b in names if b not in BASELINES]
        if bad:
            raise UsageError(f"--baselines: unknown {', '.join(bad)}; allowed: {', '.join(BASELINES)}, none")
        update["baselines"] = names
    return cfg.model_copy(update=update)


def _check_policy(cfg, suite) -> None:
    """Refuse a policy that cannot run before any work starts."""
    import envs
    from agentrl.eval.policies import PolicyError, check_endpoint, check_vlm_dir

    try:
        flag = "--model" if cfg.policy == "model" else "--model (the processor that builds prompts)"
        check_vlm_dir(cfg.engine.model, flag)
        if cfg.policy == "endpoint":
            cfg.engine.served_model = check_endpoint(cfg.engine.endpoint, cfg.engine.served_model)
    except PolicyError as e:
        raise UsageError(str(e)) from None
    if cfg.policy == "expert":
        missing = [t for t in suite.tasks if not envs.spec(t).has_expert]
        if missing:
            raise UsageError(
                f"--policy expert: no scripted expert for {', '.join(missing[:5])}; use --policy random"
            )


def _default_out(cfg, suite) -> Path:
    name = {"model": Path(cfg.engine.model).name, "endpoint": cfg.engine.served_model or "endpoint"}
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", name.get(cfg.policy, cfg.policy)).strip("-") or "policy"
    return Path("runs/eval") / f"{suite.name}-{slug}"


def cmd_eval(args: argparse.Namespace) -> int:
    from agentrl.cli.progress import EpisodeProgress
    from agentrl.data.store import TrajectoryStore
    from agentrl.eval import run
    from agentrl.eval.suites import load_suite

    if not args.suite:
        raise UsageError("--suite: required (agentrl eval suites lists them; or give a suite YAML file)")
    cfg = _config(args)
    suite = load_suite(args.suite)
    _check_policy(cfg, suite)
    out = Path(args.out) if args.out else _default_out(cfg, suite)
    ident = run.identity(cfg, suite)
    try:
        run.prepare_out(out, ident)
    except ValueError as e:
        raise UsageError(str(e)) from None
    episodes = cfg.episodes or suite.episodes_per_task
    console.print(
        f"[bold]{run.label(cfg)}[/] on suite [bold]{suite.name}[/]: {len(suite.tasks)} tasks x {episodes} "
        f"episodes (seeds {suite.seed_start:,}..), baselines: {', '.join(cfg.baselines) or 'none'} -> {out}"
    )
    t0 = time.perf_counter()
    played = asyncio.run(run.evaluate(cfg, suite, out, lambda label, n: EpisodeProgress(n, label)))
    result = run.write_outputs(out, cfg, suite, ident, TrajectoryStore(out / "store"))
    console.print(run.results.markdown(result))
    o = result["overall"]
    console.print(
        f"played {sum(played.values())} episodes in {time.perf_counter() - t0:.1f}s "
        f"(the rest were stored already); mean task success {o['mean_task_success']:.1%} -> "
        f"{out}/result.json, result.md, success.png"
    )
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from agentrl.eval.compare import compare, markdown
    from agentrl.eval.results import load_result

    try:
        a, b = load_result(args.a), load_result(args.b)
    except ValueError as e:
        raise UsageError(str(e)) from None
    c = compare(a, b)
    if not c["rows"]:
        raise UsageError(f"compare: {args.a} and {args.b} have no task in common")
    md = markdown(c)
    b_path = Path(args.b)
    out = Path(args.out) if args.out else (b_path if b_path.is_dir() else b_path.parent) / "compare.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(md)
    console.print(md)
    console.print(f"-> {out}")
    return 0


def cmd_curves(args: argparse.Namespace) -> int:
    from agentrl.eval.plots import plot_learning_curves

    for r in args.runs:
        if not Path(r).is_dir():
            raise UsageError(f"RUN_DIR: '{r}' is not a directory")
    try:
        path = plot_learning_curves(args.runs, args.tag, Path(args.out))
    except ValueError as e:
        raise UsageError(str(e)) from None
    console.print(f"-> {path}")
    return 0


def cmd_suites(args: argparse.Namespace) -> int:
    from agentrl.eval.suites import load_suite, suite_names

    for name in suite_names():
        s = load_suite(name, check_tasks=False)
        console.print(
            f"[bold]{name:<14}[/] {len(s.tasks):>4} tasks x {s.episodes_per_task:>3} episodes  {s.description}"
        )
    return 0
