"""The async collector on real Ray env workers and a real transformers engine.

Faults are injected by wrapping the real engine (`Delayed`, `Gated`, `Failing`) and by killing a real env
worker actor: the wrappers only delay or refuse requests, everything else runs for real. Order is forced by
gates and by what is in flight, never by how long something takes, so a loaded machine cannot flip a test.
"""

from __future__ import annotations

import asyncio

import pytest

from rollout.agent import AgentConfig
from rollout.collector import Collector, CollectorConfig
from rollout.engines.base import EngineError, GenerationRequest, SamplingConfig

ENV = "agentrl/toy.click-target-v0"
OTHER, THIRD = "agentrl/toy.click-sequence-v0", "agentrl/gym.minigrid-empty-5x5-v0"
AGENT = AgentConfig(max_steps=3, sampling=SamplingConfig(max_tokens=8, temperature=1.0, seed=0))


def _seed(request: GenerationRequest) -> int:
    return int(request.request_id.split(":")[1])


class Delayed:
    """Requests of the given seeds wait `delay_s` before reaching the real engine."""

    def __init__(self, engine, seeds, delay_s):
        self.engine, self.seeds, self.delay_s = engine, set(seeds), delay_s
        self.active = self.peak = 0

    async def generate(self, request):
        self.active += 1
        self.peak = max(self.peak, self.active)
        try:
            if _seed(request) in self.seeds:
                await self._hold()
            return await self.engine.generate(request)
        finally:
            self.active -= 1

    async def _hold(self):
        await asyncio.sleep(self.delay_s)


class Gated(Delayed):
    """Requests of the given seeds wait until `gate` is set before reaching the real engine."""

    def __init__(self, engine, seeds):
        super().__init__(engine, seeds, 0.0)
        self.gate = asyncio.Event()

    async def _hold(self):
        await self.gate.wait()


class Failing:
    def __init__(self, engine, seeds):
        self.engine, self.seeds = engine, set(seeds)

    async def generate(self, request):
        if _seed(request) in self.seeds:
            raise EngineError("injected failure")
        return await self.engine.generate(request)


@pytest.fixture(scope="module")
def engine(tiny_model_dir):
    from rollout.engines.hf import HFEngine

    return HFEngine(tiny_model_dir)


def _collect(collector, tasks, on_trajectory=None):
    async def run():
        out = []
        try:
            async for t in collector.stream(tasks):
                out.append(t)
                if on_trajectory is not None:
                    on_trajectory(out)
            return out
        finally:
            await collector.close()

    return asyncio.run(asyncio.wait_for(run(), 300))  # a collector that waits on a held episode fails here


def test_streams_in_completion_order_within_the_in_flight_limit(ray_local, engine, tiny_tokenizer):
    # seed 0's requests are held until the other seven episodes have been streamed out
    slow = Gated(engine, seeds=[0])
    cfg = CollectorConfig(env_workers=2, envs_per_worker=2, max_in_flight=3)

    def release(out):
        if len(out) == 7:
            slow.gate.set()

    trajs = _collect(Collector(slow, tiny_tokenizer, AGENT, cfg), [(ENV, s) for s in range(8)], release)
    assert sorted(t.seed for t in trajs) == list(range(8))
    assert trajs[-1].seed == 0  # submitted first, finished last: nobody waited for it
    assert slow.peak <= 3
    for t in trajs:
        assert t.status == "ok" and 1 <= t.num_steps <= 3
        for turn in t.turns:
            assert len(turn.response_ids) == len(turn.logprobs) > 0
            pads = turn.prompt_ids.count(tiny_tokenizer.convert_tokens_to_ids("<|image_pad|>"))
            assert pads == len(turn.image_refs) == 1 and turn.image_refs[0] in t.images


def test_engine_failure_fails_that_episode_only(ray_local, engine, tiny_tokenizer):
    cfg = CollectorConfig(env_workers=1, envs_per_worker=4)
    trajs = _collect(
        Collector(Failing(engine, [2]), tiny_tokenizer, AGENT, cfg), [(ENV, s) for s in range(5)]
    )
    by_seed = {t.seed: t for t in trajs}
    assert by_seed[2].status == "error" and "injected failure" in by_seed[2].reason
    assert all(by_seed[s].status == "ok" for s in (0, 1, 3, 4))


def test_dead_env_worker_is_restarted_and_its_episodes_retried(ray_local, engine, tiny_tokenizer):
    import ray

    cfg = CollectorConfig(env_workers=2, envs_per_worker=2, max_retries=1)
    slow = Delayed(engine, seeds=range(100), delay_s=0.3)
    collector = Collector(slow, tiny_tokenizer, AGENT, cfg)

    async def run():
        async def kill():  # once a request is in the engine, worker 0 has episodes half-way through
            while slow.active == 0:
                await asyncio.sleep(0.01)
            ray.kill(collector.workers[0])

        killer = asyncio.create_task(kill())
        try:
            return [t async for t in collector.stream([(ENV, s) for s in range(8)])]
        finally:
            await killer
            await collector.close()

    trajs = asyncio.run(run())
    assert sorted(t.seed for t in trajs) == list(range(8))  # none lost
    assert collector.restarts >= 1
    retried = [t for t in trajs if t.meta.get("attempt") == 1]
    assert retried and all(t.status == "ok" for t in retried)


def test_episode_time_limit_ends_it_as_a_step_budget_timeout(ray_local, engine, tiny_tokenizer):
    # the time limit is the agent's budget, like max_steps: truncated, status ok, timed out (not a fault)
    cfg = CollectorConfig(env_workers=1, envs_per_worker=2, episode_timeout_s=0.5)
    trajs = _collect(Collector(Delayed(engine, [1], 5.0), tiny_tokenizer, AGENT, cfg), [(ENV, 0), (ENV, 1)])
    by_seed = {t.seed: t for t in trajs}
    t = by_seed[1]
    assert t.status == "ok" and t.truncated and "episode time limit" in t.reason
    assert t.timed_out and not t.env_fault


def test_hung_env_worker_is_restarted_and_its_episodes_recorded(ray_local, engine, tiny_tokenizer, caplog):
    # every reset sleeps 60 s (as a browser call that never answers would block its worker): each call
    # times out after 1 s, the worker is restarted, the episode retried once, then recorded aborted
    cfg = CollectorConfig(
        env_workers=1,
        envs_per_worker=2,
        max_retries=1,
        env_call_timeout_s=1.0,
        env_kwargs={"reset_delay_s": 60},
    )
    collector = Collector(engine, tiny_tokenizer, AGENT, cfg)
    trajs = _collect(collector, [(ENV, 0), (ENV, 1)])
    assert sorted(t.seed for t in trajs) == [0, 1]  # none lost
    assert collector.restarts >= 1
    restarts = [r.getMessage() for r in caplog.records if "restarting env worker" in r.getMessage()]
    assert len(restarts) == collector.restarts and "reset did not return within 1 s" in restarts[0]
    for t in trajs:
        assert t.status == "aborted" and "env worker hung: reset did not return within 1 s" in t.reason


def test_env_worker_keeps_its_most_recent_envs_per_slot():
    from rollout.actors import EnvWorker

    worker = EnvWorker(slots=1, envs_per_slot=2)
    try:
        for env_id in (ENV, OTHER, ENV, THIRD):
            worker.reset(0, env_id, seed=0)
        assert worker.held(0) == [ENV, THIRD]  # OTHER was the least recently used: closed
        assert worker.envs_made() == 3
        worker.reset(0, OTHER, seed=1)  # made again
        assert worker.held(0) == [THIRD, OTHER] and worker.envs_made() == 4
    finally:
        worker.close()
    with pytest.raises(ValueError, match="envs_per_slot"):
        EnvWorker(slots=1, envs_per_slot=0)


@pytest.mark.parametrize("lookahead", [16, 1])
def test_free_slots_take_tasks_whose_env_they_hold(ray_local, engine, tiny_tokenizer, lookahead):
    # tasks come in pairs of alternating envs; with one env per slot, a slot that took the next task in order
    # would make a new env every other episode or so. Reading ahead, each slot keeps to the env it holds.
    cfg = CollectorConfig(env_workers=1, envs_per_worker=2, envs_per_slot=1, task_lookahead=lookahead)
    collector = Collector(engine, tiny_tokenizer, AGENT, cfg)
    tasks = [(ENV if (i // 2) % 2 == 0 else OTHER, i) for i in range(16)]

    async def run():
        try:
            trajs = [t async for t in collector.stream(tasks)]
            return trajs, await collector.workers[0].envs_made.remote()
        finally:
            await collector.close()

    trajs, made = asyncio.run(run())
    assert sorted((t.env_id, t.seed) for t in trajs) == sorted(tasks)
    assert all(t.status == "ok" for t in trajs)
    if lookahead > 1:
        assert made <= 4  # 2 at the start; at most one switch per slot as one env's tasks run out
    else:
        assert made >= 10  # strict order: the two slots keep trading envs (16 of 16 in four runs here)
