"""The flywheel's stages. Each takes the run context and an iteration, does its work (resuming its own
partial output where it can), and returns a summary of numbers for the ledger and the report."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentrl.config import EVAL_SEED_START, load_config
from agentrl.data.store import StoreWriter, TrajectoryStore
from agentrl.eval.episodes import greedy_success, local_agent, play_local
from agentrl.eval.results import success_by_task
from agentrl.flywheel.config import FlywheelConfig
from agentrl.flywheel.evaluate import baselines
from agentrl.train.checkpoint import complete_checkpoints

Log = Callable[[str], None]
RUNS = ["demos", "reject"]  # store runs the CT and SFT pools are read from (routing by the validator V)


@dataclass
class Context:
    cfg: FlywheelConfig
    out: Path
    log: Log

    @property
    def store(self) -> Path:
        return self.out / "store"

    def it_dir(self, it: int) -> Path:
        return self.out / f"iter-{it}"

    def start_model(self, it: int) -> Path:
        """The policy iteration `it` starts from: the previous iteration's merged model, else the base."""
        if it == 0:
            return Path(self.cfg.model)
        prev = self.it_dir(it - 1)
        for name in ("merged", "sft"):
            if (prev / name / "final" / "COMPLETE").exists():
                return prev / name / "final"
        raise FileNotFoundError(f"iteration {it - 1} produced no model (no merged/ or sft/ checkpoint)")

    def latest_model(self, it: int) -> Path:
        """The newest model of iteration `it`: merged, else SFT, else CT, else its start."""
        for name in ("merged", "sft", "ct"):
            if (self.it_dir(it) / name / "final" / "COMPLETE").exists():
                return self.it_dir(it) / name / "final"
        return self.start_model(it)


# -- data ---------------------------------------------------------------------------------------------------
def demos(ctx: Context, it: int) -> dict[str, Any]:
    """Scripted-expert demonstrations seed the SFT pool (iteration 0; later iterations add nothing)."""
    if it > 0:
        return {"status": "not-applicable", "note": "demonstrations seed iteration 0 only"}
    from agentrl.models.loading import load_processor
    from rollout.agent import AgentConfig
    from rollout.engines.scripted import ExpertEngine
    from rollout.episode import run_episode
    from rollout.local_env import LocalEnv

    ds, tasks = ctx.cfg.demos, ctx.cfg.tasks
    # every (task, seed), interleaved in proportion to each task's episodes: any window of the stream mixes
    # the tasks as the whole does
    order = sorted(
        ((task, seed) for task in tasks for seed in range(ds.episodes(task))),
        key=lambda ts: ((ts[1] + 0.5) / ds.episodes(ts[0]), tasks.index(ts[0])),
    )
    tok = load_processor(ctx.cfg.model).tokenizer
    store = TrajectoryStore(ctx.store)
    for part in store.parts(run="demos"):  # a killed earlier attempt: start over rather than double up
        part.unlink()
    successes = total = 0

    async def run() -> None:
        nonlocal successes, total
        env = LocalEnv()
        try:
            with StoreWriter(store, "demos", 0) as w:
                for k, (task, seed) in enumerate(order, 1):
                    t = await run_episode(ExpertEngine(tok), env, tok, AgentConfig(), task, seed)
                    w.add(t)
                    successes, total = successes + int(t.success), total + 1
                    if k % max(1, len(order) // 4) == 0:
                        ctx.log(f"demos: {k}/{len(order)} episodes of {len(tasks)} tasks")
        finally:
            env.close()

    asyncio.run(run())
    return {"episodes": total, "v1_fraction": successes / max(total, 1)}


def reject(ctx: Context, it: int) -> dict[str, Any]:
    """Rejection sampling with the iteration's model: K attempts per (task, training seed); the validator
    V = the env's success routes V=1 to the SFT pool and V=0 to the CT pool (both in store run "reject")."""
    rs = ctx.cfg.reject
    first = ctx.cfg.demos.seeds_used(ctx.cfg.tasks) + it * rs.seeds_per_task  # training seeds no one used yet
    episodes = [
        (task, seed) for task in ctx.cfg.tasks for seed in range(first, first + rs.seeds_per_task)
        for _ in range(rs.attempts)
    ]  # fmt: skip
    model = ctx.latest_model(it)
    with StoreWriter(TrajectoryStore(ctx.store), "reject", it) as w:
        agent = local_agent(ctx.cfg.eval.max_steps, rs.temperature)
        trajs = asyncio.run(play_local(model, episodes, agent, ctx.cfg.eval.parallel_envs, writer=w))
    v1 = sum(t.success for t in trajs)
    return {
        "model": str(model),
        "episodes": len(trajs),
        "v1_fraction": v1 / max(len(trajs), 1),
        "sft_pool_added": v1,
        "ct_pool_added": len(trajs) - v1,
        "success_by_task": success_by_task(trajs),
    }


# -- training -----------------------------------------------------------------------------------------------
def _train(ctx: Context, it: int, objective: str, start: Path) -> dict[str, Any]:
    from agentrl.train.checkpoint import latest
    from agentrl.train.data import TrainData
    from agentrl.train.fresh import FreshDemos
    from agentrl.train.sft import SFTConfig, train

    stage = ctx.cfg.ct if objective == "ct" else ctx.cfg.sft
    out = ctx.it_dir(it) / objective
    cfg = SFTConfig(
        objective=objective,  # type: ignore[arg-type]
        model=str(start),
        output_dir=str(out),
        steps=stage.steps_at(it),
        time_budget_s=stage.time_budget_s,
        log_every=max(1, stage.steps_at(it) // 10),
        data=TrainData(
            store=str(ctx.store),
            runs=RUNS,
            success=True if objective == "sft" else None,  # SFT: V=1 only; CT: everything
            shuffle_buffer=stage.shuffle_buffer,
            fresh=FreshDemos(tasks=stage.fresh_tasks),
            shift_max_frac=stage.shift_max_frac,
        ),
        learner=ctx.cfg.learner,
        optim=stage.optim,
        batch=stage.batch,
    )
    last: dict[str, float] = {}

    def on_step(step: int, m: dict[str, float]) -> None:
        last.update(step=step, loss=m["loss"], tokens_per_s=m["tokens_per_s"])
        if step % cfg.log_every == 0 or step == cfg.steps:
            ctx.log(f"{objective} step {step}/{cfg.steps} loss {m['loss']:.3f} tok/s {m['tokens_per_s']:.0f}")

    if (out / "final" / "COMPLETE").exists():
        return {"model": str(out / "final"), "resumed": "already complete"}
    final = train(cfg, resume=latest(out), on_step=on_step)
    stopped = json.loads((final / "state.json").read_text()).get("stopped_at_budget", False)
    if stopped:
        ctx.log(
            f"{objective}: stopped at its time budget ({stage.time_budget_s:.0f} s) at step {last.get('step')}"
        )
    return {"model": str(final), "start": str(start), "stopped_at_budget": stopped, **last}


def ct(ctx: Context, it: int) -> dict[str, Any]:
    """Continual pre-training: next-token loss over whole trajectories, failures included (the CT pool)."""
    return _train(ctx, it, "ct", ctx.start_model(it))


def sft(ctx: Context, it: int) -> dict[str, Any]:
    """SFT on the SFT pool (V=1 trajectories), from the CT checkpoint when CT ran."""
    ct_final = ctx.it_dir(it) / "ct" / "final"
    start = ct_final if (ct_final / "COMPLETE").exists() else ctx.start_model(it)
    return _train(ctx, it, "sft", start)


def ppo(ctx: Context, it: int) -> dict[str, Any]:
    """Value pre-training and PPO per domain, every domain from the same SFT checkpoint."""
    from agentrl.train.ppo.config import PPOConfig
    from agentrl.train.ppo.loop import PPOTrainer

    sft_final = ctx.it_dir(it) / "sft" / "final"
    start = sft_final if (sft_final / "COMPLETE").exists() else ctx.start_model(it)
    rs = ctx.cfg.reject
    summary: dict[str, Any] = {"start": str(start), "domains": {}}
    for domain, tasks in ctx.cfg.domains.items():
        out = ctx.it_dir(it) / f"ppo-{domain}"
        overrides = [
            f"model={start}", f"output_dir={out}", f"store={ctx.store}", f"run=ppo-{domain}",
            f"iterations={ctx.cfg.ppo.iterations}", "eval.episodes=0",
            # training seeds past the demonstrations and every iteration's rejection sampling
            f"pool.seed_start={ctx.cfg.demos.seeds_used(ctx.cfg.tasks) + ctx.cfg.iterations * rs.seeds_per_task + it * 100_000}",
            *ctx.cfg.ppo.overrides,
        ]  # fmt: skip
        cfg = load_config(PPOConfig, ctx.cfg.ppo.config, overrides)
        cfg.pool.tasks = list(tasks)
        found = _iter_checkpoints(out)
        resume = found[-1] if found else None
        done = (
            resume is not None
            and json.loads((resume / "loop.json").read_text())["iteration"] >= cfg.iterations
        )
        history: list[dict[str, float]] = []
        if not done:

            def on_iteration(i: int, row: dict[str, float], domain: str = domain) -> None:
                if row.get("kind") == "train":
                    ctx.log(f"ppo[{domain}] iteration {i}: sampled success {row.get('success_rate', 0):.0%}")

            report = asyncio.run(PPOTrainer(cfg, resume, on_iteration).run())
            history = [r for r in report["history"] if r["kind"] == "train"]
            found = _iter_checkpoints(out)
        policy = found[-1] / "actor"
        summary["domains"][domain] = {
            "model": str(policy),
            "iterations": cfg.iterations,
            "train_success_first": history[0].get("success_rate") if history else None,
            "train_success_last": history[-1].get("success_rate") if history else None,
        }
    return summary


def merge(ctx: Context, it: int) -> dict[str, Any]:
    """Parameter interpolation of the domain PPO policies into one model (the next iteration's start)."""
    domains = _ppo_models(ctx, it)
    if not domains:
        raise FileNotFoundError(f"iteration {it}: no PPO policy to merge (did the ppo stage run?)")
    from agentrl.merge import MergeSpec
    from agentrl.merge import merge as run_merge

    given = ctx.cfg.merge.weights or {d: 1.0 for d in domains}
    total = sum(given[d] for d in domains)
    weights = {d: given[d] / total for d in domains}  # alpha_k >= 0, sum_k alpha_k = 1
    out = ctx.it_dir(it) / "merged" / "final"
    shutil.rmtree(out, ignore_errors=True)  # a merge killed mid-way left no COMPLETE: redo it
    sft_final = ctx.it_dir(it) / "sft" / "final"
    spec = MergeSpec(
        checkpoints=[domains[d] for d in domains],
        weights=[weights[d] for d in domains],
        out=out,
        base=sft_final if ctx.cfg.merge.method == "task_arithmetic" else None,
        method=ctx.cfg.merge.method,
    )
    run_merge(spec)
    (out / "COMPLETE").write_text("")
    return {
        "model": str(out),
        "method": spec.method,
        "weights": weights,
        "sources": {d: str(p) for d, p in domains.items()},
    }


def _iter_checkpoints(ppo_out: Path) -> list[Path]:
    """The PPO loop's complete checkpoints (checkpoints/iter-N), oldest first."""
    return complete_checkpoints(ppo_out, "iter")


def _ppo_models(ctx: Context, it: int) -> dict[str, Path]:
    found = {}
    for domain in ctx.cfg.domains:
        cks = _iter_checkpoints(ctx.it_dir(it) / f"ppo-{domain}")
        if cks:
            found[domain] = cks[-1] / "actor"
    return found


# -- evaluation ---------------------------------------------------------------------------------------------
def eval_(ctx: Context, it: int) -> dict[str, Any]:
    """Greedy success on held-out seeds for each of the iteration's checkpoints; the untrained start model
    and the baselines (random click, best fixed click, expert) once, in iteration 0."""
    ev = ctx.cfg.eval
    tasks = ctx.cfg.tasks
    n = {t: ev.episodes(t) for t in tasks}
    result: dict[str, Any] = {"checkpoints": {}}
    base_file = ctx.out / "baselines.json"
    if not base_file.exists():
        table = {}
        for task in tasks:
            seeds = list(range(EVAL_SEED_START, EVAL_SEED_START + n[task]))
            table[task] = baselines(task, ev.baseline_train_seeds, seeds, ev.baseline_grid_step)
            ctx.log(f"baselines {task}: {table[task]}")
        base_file.write_text(json.dumps(table, indent=2))
    result["baselines"] = json.loads(base_file.read_text())
    models: dict[str, tuple[Path, list[str]]] = {}
    if it == 0:
        models["untrained"] = (Path(ctx.cfg.model), tasks)
    for name in ("sft", "merged"):
        if (ctx.it_dir(it) / name / "final" / "COMPLETE").exists():
            models[name] = (ctx.it_dir(it) / name / "final", tasks)
    for domain, path in _ppo_models(ctx, it).items():  # a domain's specialist, on its own domain
        models[f"ppo-{domain}"] = (path, ctx.cfg.domains[domain])
    for name, (path, its_tasks) in models.items():
        rates = greedy_success(
            path, its_tasks, {t: n[t] for t in its_tasks}, EVAL_SEED_START, ev.parallel_envs, ev.max_steps
        )
        result["checkpoints"][name] = {"model": str(path), "success": rates}
        ctx.log(f"eval {name}: " + "  ".join(f"{t.split('/')[-1]} {r:.0%}" for t, r in rates.items()))
    return result


STAGE_FUNCTIONS: dict[str, Callable[[Context, int], dict[str, Any]]] = {
    "demos": demos,
    "ct": ct,
    "sft": sft,
    "ppo": ppo,
    "merge": merge,
    "eval": eval_,
    "reject": reject,
}
