"""The asynchronous trajectory collector: episodes run concurrently, finished ones stream out at once.

Nothing waits on the slowest episode: each episode holds one env slot and awaits the shared engine; when it
ends, its slot takes the next task: among the next `task_lookahead` tasks, one whose env the slot already
holds if there is one (each slot keeps `envs_per_slot` envs open), else the oldest. Faults stay local and
are never lost silently — an engine error or timeout ends that episode with status "error"; an env worker
that dies, or hangs (a call over `env_call_timeout_s`), is restarted and its episodes are retried (up to
`max_retries`), then recorded with status "aborted". An episode that runs out of its time limit
(`episode_timeout_s`) ends as it would at its step budget: truncated, its turns kept (`Trajectory.timed_out`);
one that cannot even be stopped then (env calls over their timeouts) is recorded "aborted". Every turn records the policy version that generated it, so episodes may span weight updates (partial
rollouts).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from typing import Any

import ray
from pydantic import Field

from agentrl.config import StrictModel
from agentrl.launch.placement import CustomResources
from agentrl.launch.resources import Demand, GiB
from rollout.actors import EnvWorkerHung, RayEnvSlot, env_worker_actor
from rollout.agent import AgentConfig
from rollout.episode import EngineLike, run_episode
from rollout.trajectory import Trajectory

log = logging.getLogger(__name__)

Task = tuple[str, int]  # (env id, seed)


class CollectorConfig(StrictModel):
    env_workers: int = 2
    envs_per_worker: int = 4
    max_in_flight: int = 8  # episodes running at once (at most env_workers * envs_per_worker)
    request_timeout_s: float = 120.0
    # an env reset/step that takes longer means its worker hung: the worker is restarted, the episode retried
    env_call_timeout_s: float = 120.0
    episode_timeout_s: float = 600.0
    max_retries: int = 1  # re-runs of an episode whose env worker died
    worker_num_cpus: float = 0.25
    worker_memory_gb: float = 0.0  # RAM Ray reserves per env worker (0: none); a Chromium needs ~0.3 GB
    # envs an env slot keeps open, one per env id, least recently used closed first (an idle page costs CPU)
    envs_per_slot: int = Field(2, ge=1)
    # tasks read ahead of the running ones, so that a free slot can take one whose env it already holds
    # (a new env costs ~0.5 s for a browser page); 1 keeps the tasks' order strictly
    task_lookahead: int = Field(16, ge=1)
    env_kwargs: dict[str, Any] = {}  # passed to every envs.make (e.g. text_mode, max_steps)
    # Ray custom resources each env worker asks for: pins env workers to the nodes declaring them
    # (e.g. {"env_node": 0.01}; README "Running on a cluster")
    resources: CustomResources = {}
    allow_shell: bool = False


class Collector:
    def __init__(self, engine: EngineLike, tokenizer: Any, agent: AgentConfig, cfg: CollectorConfig) -> None:
        self.engine, self.tokenizer, self.agent, self.cfg = engine, tokenizer, agent, cfg
        kwargs = dict(cfg.env_kwargs)
        if cfg.allow_shell:
            kwargs["allow_shell"] = True
        self._actor_cls = env_worker_actor(
            num_cpus=cfg.worker_num_cpus, memory_gb=cfg.worker_memory_gb, resources=cfg.resources
        )
        self._env_kwargs = kwargs
        self.workers = [self._new_worker() for _ in range(cfg.env_workers)]
        self._generation = [0] * cfg.env_workers
        # why each worker generation was killed (worker, generation) -> reason: an episode on another slot of
        # that worker then sees "actor died", and is recorded with the cause rather than that symptom
        self._killed_for: dict[tuple[int, int], str] = {}
        self._slots: asyncio.Queue[tuple[int, int]] | None = None
        # env ids each slot's worker holds an env for, least recently used first (a mirror of EnvWorker's)
        self._held: dict[tuple[int, int], list[str]] = {}
        self.restarts = 0
        self._live = 0  # episodes running now, over every stream of this collector

    @property
    def _overrun_s(self) -> float:
        """The episode's time limit plus a reset's and a step's worth of env calls: past this, it is hung."""
        return self.cfg.episode_timeout_s + 2 * self.cfg.env_call_timeout_s

    def _new_worker(self) -> Any:
        return self._actor_cls.remote(self.cfg.envs_per_worker, self._env_kwargs, self.cfg.envs_per_slot)

    def _pick(self, slot: tuple[int, int], pending: deque[Task]) -> int:
        """Index of the pending task this free slot should run: the first whose env the slot holds (newest
        held first), else the oldest."""
        for env_id in reversed(self._held.get(slot, [])):
            for i, (e, _) in enumerate(pending):
                if e == env_id:
                    return i
        return 0

    def _hold(self, slot: tuple[int, int], env_id: str) -> None:
        held = [e for e in self._held.get(slot, []) if e != env_id] + [env_id]
        self._held[slot] = held[-self.cfg.envs_per_slot :]

    def _ensure_slots(self) -> asyncio.Queue[tuple[int, int]]:
        if self._slots is None:
            self._slots = asyncio.Queue()
            for s in range(self.cfg.envs_per_worker):
                for w in range(self.cfg.env_workers):
                    self._slots.put_nowait((w, s))
        return self._slots

    def _restart(self, w: int, generation: int, why: str) -> None:
        if self._generation[w] != generation:  # another episode of this worker restarted it already
            return
        log.warning("restarting env worker %d: %s", w, why)
        self._killed_for[(w, generation)] = why
        ray.kill(self.workers[w], no_restart=True)
        self.workers[w] = self._new_worker()
        for s in range(self.cfg.envs_per_worker):
            self._held.pop((w, s), None)
        self._generation[w] += 1
        self.restarts += 1

    async def _episode(
        self, slot: tuple[int, int], env_id: str, seed: int, meta: dict[str, Any]
    ) -> Trajectory:
        w, s = slot
        last = ""
        for attempt in range(self.cfg.max_retries + 1):
            meta = {**meta, "attempt": attempt}
            generation = self._generation[w]
            env = RayEnvSlot(self.workers[w], s, self.cfg.env_call_timeout_s)
            try:
                return await asyncio.wait_for(
                    run_episode(
                        self.engine,
                        env,
                        self.tokenizer,
                        self.agent,
                        env_id,
                        seed,
                        request_timeout_s=self.cfg.request_timeout_s,
                        allow_shell=self.cfg.allow_shell,
                        meta=meta,
                        concurrency=lambda: self._live,
                        time_limit_s=self.cfg.episode_timeout_s,
                    ),
                    self._overrun_s,
                )
            except ray.exceptions.RayActorError as e:
                died = f"env worker died: {str(e).splitlines()[0][:200]}"
                last = self._killed_for.get((w, generation), died)  # killed by us for another slot's fault
                self._restart(w, generation, last)
            except EnvWorkerHung as e:
                last = str(e)
                self._restart(w, generation, last)
            except TimeoutError:
                return Trajectory(
                    env_id,
                    seed,
                    "",
                    status="aborted",
                    meta=meta,
                    reason=f"episode overran its time limit: no end within {self._overrun_s:g}s",
                )
            except Exception as e:  # an env that raised instead of truncating: recorded, not lost
                cause = e.cause if isinstance(e, ray.exceptions.RayTaskError) and e.cause else e
                return Trajectory(
                    env_id,
                    seed,
                    "",
                    status="error",
                    meta=meta,
                    reason=f"env: {type(cause).__name__}: {str(cause).splitlines()[0][:300]}",
                )
        return Trajectory(env_id, seed, "", status="aborted", reason=last, meta=meta)

    async def stream(
        self, tasks: Iterable[Task] | AsyncIterable[Task], meta: dict[str, Any] | None = None
    ) -> AsyncIterator[Trajectory]:
        """Run every task; yield trajectories in completion order."""
        slots = self._ensure_slots()
        limit = max(1, min(self.cfg.max_in_flight, self.cfg.env_workers * self.cfg.envs_per_worker))
        gate = asyncio.Semaphore(limit)
        out: asyncio.Queue[Trajectory | None] = asyncio.Queue()
        running: set[asyncio.Task] = set()

        async def one(slot: tuple[int, int], env_id: str, seed: int) -> None:
            self._live += 1
            try:
                traj = await self._episode(slot, env_id, seed, dict(meta or {}))
            finally:
                self._live -= 1
            await out.put(traj)

        def release(slot: tuple[int, int]) -> None:
            # a done callback, so the slot comes back even when its episode is cancelled before it starts
            slots.put_nowait(slot)
            gate.release()

        async def feed() -> None:
            source = _aiter(tasks)
            pending: deque[Task] = deque()  # read ahead, not started
            exhausted, passed_over = False, 0

            async def fill() -> None:
                nonlocal exhausted
                while not exhausted and len(pending) < self.cfg.task_lookahead:
                    try:
                        pending.append(await anext(source))
                    except StopAsyncIteration:
                        exhausted = True

            await fill()
            while pending:
                await gate.acquire()
                slot = await slots.get()
                # the oldest task waits at most `task_lookahead` starts for slots that hold other envs
                i = self._pick(slot, pending) if passed_over < self.cfg.task_lookahead else 0
                passed_over = passed_over + 1 if i else 0
                env_id, seed = pending[i]
                del pending[i]
                self._hold(slot, env_id)
                t = asyncio.create_task(one(slot, env_id, seed))
                running.add(t)
                t.add_done_callback(running.discard)
                t.add_done_callback(lambda _, slot=slot: release(slot))
                await fill()
            while running:
                await asyncio.gather(*list(running))
            await out.put(None)

        feeder = asyncio.create_task(feed())
        try:
            while (item := await out.get()) is not None:
                yield item
            await feeder
        finally:
            if not feeder.done():
                feeder.cancel()
            for t in list(running):
                t.cancel()

    async def close(self) -> None:
        await asyncio.gather(*[w.close.remote() for w in self.workers], return_exceptions=True)
        for w in self.workers:
            ray.kill(w, no_restart=True)


async def _aiter(tasks: Iterable[Task] | AsyncIterable[Task]) -> AsyncIterator[Task]:
    if isinstance(tasks, AsyncIterable):
        async for t in tasks:
            yield t
    else:
        for t in tasks:
            yield t


def collector_demand(cfg: CollectorConfig, extra_workers: int = 0) -> list[Demand]:
    key = "collector.env_workers x collector.worker_num_cpus"
    memory = cfg.worker_memory_gb * GiB
    n = cfg.env_workers + extra_workers
    return [Demand("env workers", key, n, cfg.worker_num_cpus, 0.0, memory, dict(cfg.resources))]
