"""One evaluation: a policy on a suite's held-out seeds, its baselines beside it, resumable, on Ray.

    OUT/eval.json       what is evaluated (suite, policy, agent): a resume must match it
    OUT/store/          every episode as it finishes (agentrl.data.store): run "policy" and one run per
                        baseline ("baseline-random_click", "baseline-expert")
    OUT/best_fixed_click.json  the best-fixed-click baseline per task, when asked for (agentrl.eval.fixed_click)
    OUT/result.json     per task: success, 95% Wilson interval, mean steps and time, failure reasons
    OUT/result.md       the same as a markdown table, baselines beside every task
    OUT/success.png     success per task with its interval and the baselines

Episodes go through the rollout collector (rollout/collector.py) on Ray env workers; a model is served by
the RolloutService's engine actors (hf, vllm) or reached at an OpenAI-compatible endpoint; the scripted
baselines take the engine's place in the same collector, under the same step budget. An interrupted
evaluation resumes: episodes already stored with status "ok" are not played again; errored ones are.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from agentrl.config import StrictModel
from agentrl.data.query import Query
from agentrl.data.store import StoreWriter, TrajectoryStore
from agentrl.eval import results
from agentrl.eval.episodes import play_collector
from agentrl.eval.fixed_click import CACHE, FixedClickSettings, run_searches, task_results
from agentrl.eval.plans import Plan
from agentrl.eval.suites import Suite
from agentrl.launch.ray_init import RayConfig
from rollout.agent import AgentConfig
from rollout.collector import Collector, CollectorConfig
from rollout.engines.base import SamplingConfig
from rollout.engines.config import EngineConfig
from rollout.service import EnginePlacement
from rollout.trajectory import Trajectory

POLICY_RUN = "policy"
BASELINE_POLICY = {"random_click": "random", "expert": "expert"}  # baseline name -> scripted policy


class EvalConfig(StrictModel):
    policy: Literal["model", "endpoint", "expert", "random"] = "model"
    episodes: int | None = None  # per task; None: the suite's episodes_per_task
    # best_fixed_click is opt-in: it costs grid points x fixed_click.train_seeds episodes per task
    baselines: list[Literal["random_click", "best_fixed_click", "expert"]] = ["random_click", "expert"]
    fixed_click: FixedClickSettings = FixedClickSettings()
    engine: EngineConfig = EngineConfig()  # model: the policy (or, for endpoint/scripted, the processor)
    placement: EnginePlacement = EnginePlacement()
    agent: AgentConfig = AgentConfig(sampling=SamplingConfig(temperature=0.0, max_tokens=64))  # greedy
    collector: CollectorConfig = CollectorConfig(env_workers=2, envs_per_worker=2, max_in_flight=4)
    ray: RayConfig = RayConfig()


def label(cfg: EvalConfig) -> str:
    if cfg.policy == "model":
        return f"model {Path(cfg.engine.model).resolve()}"
    if cfg.policy == "endpoint":
        return f"endpoint {cfg.engine.endpoint} ({cfg.engine.served_model})"
    return f"scripted {cfg.policy}"


def identity(cfg: EvalConfig, suite: Suite) -> dict[str, Any]:
    """What must not change between an evaluation and its resumption (episodes may grow)."""
    agent = cfg.agent.model_copy(update={"max_steps": suite.max_steps})
    return {
        "suite": {"name": suite.name, "tasks": suite.tasks, "seed_start": suite.seed_start,
                  "max_steps": suite.max_steps, "env_kwargs": suite.env_kwargs},
        "policy": {"kind": cfg.policy, "label": label(cfg)},
        "agent": agent.model_dump(mode="json"),
    }  # fmt: skip


def prepare_out(out: Path, ident: dict[str, Any]) -> None:
    """Create OUT, or check that the evaluation stored there is this one (else ValueError)."""
    spec = out / "eval.json"
    if spec.is_file():
        old = json.loads(spec.read_text())
        for key in ident:
            if old.get(key) != ident[key]:
                raise ValueError(
                    f"--out: '{out}' holds an evaluation with a different {key} "
                    f"({json.dumps(old.get(key))[:120]}); resume it with the same settings or use another --out"
                )
        return
    out.mkdir(parents=True, exist_ok=True)
    spec.write_text(json.dumps(ident, indent=2))


def finished(store: TrajectoryStore, run: str) -> set[tuple[str, int]]:
    """(env id, seed) of the episodes of `run` stored with status ok."""
    done: set[tuple[str, int]] = set()
    for _, table in store.tables(Query(run=run, status="ok"), ["env_id", "seed"]):
        done.update(zip(table["env_id"].to_pylist(), table["seed"].to_pylist()))
    return done


async def play_unfinished(
    collector: Collector,
    store: TrajectoryStore,
    run: str,
    plan: Plan,
    on_done: Callable[[Trajectory], None] | None = None,
) -> int:
    """Play the episodes of `plan` that `run` has not finished (agentrl.eval.episodes.play_collector); each
    is committed within a few episodes of finishing (an interrupted run loses at most those). Returns how
    many were played."""
    done = finished(store, run)
    todo = [task for task in plan if task not in done]
    with StoreWriter(store, run, 0, flush_every=4, max_wait_s=10.0) as writer:
        await play_collector(collector, todo, writer, on_done, meta={"run": run}, keep=False)
    return len(todo)


def summarize(store: TrajectoryStore, run: str, suite: Suite, plan: Plan):
    wanted = set(plan)
    trajs = [t for t in store.query(Query(run=run), with_images=False) if (t.env_id, t.seed) in wanted]
    return results.per_task(trajs, suite.tasks)


def write_outputs(
    out: Path, cfg: EvalConfig, suite: Suite, ident: dict[str, Any], store: TrajectoryStore
) -> dict[str, Any]:
    plan = suite.plan(cfg.episodes)
    policy = summarize(store, POLICY_RUN, suite, plan)
    baselines = {}
    for name in cfg.baselines:
        if name == "best_fixed_click":
            found = json.loads((out / CACHE).read_text()) if (out / CACHE).is_file() else {}
            baselines[name] = task_results({t: found[t] for t in suite.tasks if t in found})
            continue
        run = POLICY_RUN if BASELINE_POLICY[name] == cfg.policy else f"baseline-{name}"
        baselines[name] = summarize(store, run, suite, plan)
    header = {**ident, "episodes_per_task": len(plan) // len(suite.tasks)}
    header["suite"] = {**header["suite"], "description": suite.description}
    result = results.build_result(header, policy, baselines)
    (out / "result.json").write_text(json.dumps(result, indent=2))
    (out / "result.md").write_text(results.markdown(result))
    from agentrl.eval.plots import plot_success_per_task

    plot_success_per_task(result, out / "success.png")
    return result


def baseline_plan(name: str, plan: Plan) -> Plan:
    """The expert baseline plays only tasks with a scripted expert; random click plays all."""
    if name != "expert":
        return plan
    import envs

    return [(t, s) for t, s in plan if envs.spec(t).has_expert]


async def evaluate(
    cfg: EvalConfig,
    suite: Suite,
    out: Path,
    progress: Callable[[str, int], Any] | None = None,
) -> dict[str, int]:
    """Play the policy, then each baseline, on the suite's held-out seeds; returns episodes played per run.
    `progress(label, total)` makes a context manager with `update(traj)` (agentrl.cli.progress)."""
    from agentrl.eval.policies import EngineErrorsUnwrapped, scripted_engine
    from agentrl.launch.ray_init import init_ray
    from agentrl.models.loading import load_processor
    from rollout.service import RolloutService

    agent = cfg.agent.model_copy(update={"max_steps": suite.max_steps})
    collector_cfg = cfg.collector.model_copy(
        update={"env_kwargs": {**cfg.collector.env_kwargs, **suite.env_kwargs}}
    )
    store = TrajectoryStore(out / "store")
    plan = suite.plan(cfg.episodes)
    service = None
    if cfg.policy in ("model", "endpoint"):
        engine_cfg = cfg.engine.model_copy(update={"kind": "openai"} if cfg.policy == "endpoint" else {})
        service = RolloutService.start(engine_cfg, agent, collector_cfg, cfg.placement, cfg.ray)
        collector, tokenizer = service.collector, service.tokenizer
        collector.engine = EngineErrorsUnwrapped(service.engine)
    else:
        init_ray(cfg.ray)
        tokenizer = load_processor(cfg.engine.model).tokenizer
        collector = Collector(scripted_engine(cfg.policy, tokenizer), tokenizer, agent, collector_cfg)
    runs = [(POLICY_RUN, plan, collector.engine)]
    for name in cfg.baselines:
        if name in BASELINE_POLICY and BASELINE_POLICY[name] != cfg.policy:
            engine = scripted_engine(BASELINE_POLICY[name], tokenizer)
            runs.append((f"baseline-{name}", baseline_plan(name, plan), engine))
    played = {}
    try:
        for run, run_plan, engine in runs:
            collector.engine = engine  # the baselines take the policy's place in the same env workers
            todo = len(run_plan) - len(finished(store, run) & set(run_plan))
            if progress is None:
                played[run] = await play_unfinished(collector, store, run, run_plan)
                continue
            with progress(run, todo) as bar:
                played[run] = await play_unfinished(collector, store, run, run_plan, bar.update)
        if "best_fixed_click" in cfg.baselines:
            seeds = suite.seeds(cfg.episodes)
            await run_searches(suite.tasks, seeds, cfg.fixed_click, suite.env_kwargs, out)
    finally:
        if service is not None:
            await service.close()
        else:
            await collector.close()
    return played
