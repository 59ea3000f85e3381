"""Ray actors with small typed interfaces: env workers (several envs each) and policy engines.

EnvWorker is a plain (threaded-once) actor: Ray runs its methods one at a time on one thread, which is what
Playwright's sync API and X11 clients need; several workers give parallelism. EngineActor is an async
actor, so many episodes' requests share one engine concurrently. Only `GenerationRequest`,
`GenerationResult` and env observations cross these boundaries.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
from collections import OrderedDict
from pathlib import Path
from typing import Any

import ray

from agentrl.launch.placement import custom_option, memory_option
from envs.actions import Action
from rollout.engines.base import EngineError, GenerationRequest, GenerationResult
from rollout.engines.config import EngineConfig

log = logging.getLogger(__name__)


class EnvWorker:
    """Hosts up to `slots` envs. Each slot keeps the envs of its last `envs_per_slot` env ids and reuses them
    across episodes; the least recently used one beyond that is closed (an open browser page costs CPU and
    memory even when idle, and a suite may hold a hundred tasks)."""

    def __init__(self, slots: int, env_kwargs: dict[str, Any] | None = None, envs_per_slot: int = 2) -> None:
        if envs_per_slot < 1:
            raise ValueError(f"envs_per_slot: must be >= 1, got {envs_per_slot}")
        self.slots, self.envs_per_slot = slots, envs_per_slot
        self.env_kwargs = dict(env_kwargs or {})
        # per slot: env id -> env, least recently used first
        self._envs: list[OrderedDict[str, Any]] = [OrderedDict() for _ in range(slots)]
        self._current: list[Any] = [None] * slots
        self.made = 0  # envs created (a new env id in a slot, or one closed earlier)

    def pid(self) -> int:
        return os.getpid()

    def held(self, slot: int) -> list[str]:
        """The env ids whose envs this slot holds, least recently used first."""
        return list(self._envs[slot])

    def envs_made(self) -> int:
        return self.made

    def reset(self, slot: int, env_id: str, seed: int) -> tuple[dict[str, Any], dict[str, Any]]:
        import envs

        held = self._envs[slot]
        if env_id not in held:
            while len(held) >= self.envs_per_slot:
                _, old = held.popitem(last=False)
                with contextlib.suppress(Exception):  # a page that fails to close must not fail this episode
                    old.close()
            held[env_id] = envs.make(env_id, **self.env_kwargs)
            self.made += 1
        held.move_to_end(env_id)
        self._current[slot] = held[env_id]
        return self._current[slot].reset(seed=seed)

    def step(
        self, slot: int, action: Action | str
    ) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
        if self._current[slot] is None:
            raise RuntimeError(f"env slot {slot}: step() before reset()")
        return self._current[slot].step(action)

    def expert_action(self, slot: int) -> str:
        if self._current[slot] is None:
            raise RuntimeError(f"env slot {slot}: expert_action() before reset()")
        return self._current[slot].unwrapped.expert_action()

    def close(self) -> None:
        for per_slot in self._envs:
            for env in per_slot.values():
                env.close()
            per_slot.clear()


class EngineActor:
    """An Engine (HF, vLLM or OpenAI-compatible) behind an async Ray actor."""

    def __init__(self, cfg: EngineConfig, num_threads: int | None = None) -> None:
        if num_threads:
            import torch

            torch.set_num_threads(num_threads)
        from rollout.engines.factory import make_engine

        self.engine = make_engine(cfg)

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        return await self.engine.generate(request)

    async def update_weights(self, weights: dict[str, Any] | str | Path, version: int) -> int:
        await self.engine.update_weights(weights, version)
        return self.engine.version

    async def version(self) -> int:
        return self.engine.version

    async def shutdown(self) -> None:
        await self.engine.shutdown()


class EnvWorkerHung(RuntimeError):
    """An env worker call did not return in time (a browser or X call that never answers)."""


class RayEnvSlot:
    """`EnvLike` for one slot of an EnvWorker actor. With `timeout_s`, a call that does not return in time
    raises EnvWorkerHung: the worker runs one call at a time, so a hung call would hold every later one."""

    def __init__(self, worker: Any, slot: int, timeout_s: float | None = None) -> None:
        self.worker, self.slot, self.timeout_s = worker, slot, timeout_s

    async def _call(self, name: str, *args: Any) -> Any:
        ref = getattr(self.worker, name).remote(self.slot, *args)
        try:
            return await asyncio.wait_for(ref, self.timeout_s)
        except TimeoutError:
            raise EnvWorkerHung(
                f"env worker hung: {name} did not return within {self.timeout_s:g} s"
            ) from None

    async def reset(self, env_id: str, seed: int):
        return await self._call("reset", env_id, seed)

    async def step(self, action: Action | str):
        return await self._call("step", action)

    async def expert_action(self) -> str:
        return await self._call("expert_action")


class RayEngineClient:
    """`EngineLike` for an EngineActor handle (or several, round-robin).

    A replica whose actor dies is dropped from the rotation and its requests, those in flight included, are
    sent again to a live one; with none left, a request fails with EngineError (its episode records it)."""

    def __init__(self, actors: list[Any]) -> None:
        if not actors:
            raise ValueError("RayEngineClient needs at least one engine actor")
        self.actors = list(actors)  # the live replicas
        self.lost: list[str] = []  # one line per replica dropped: why
        self._next = 0

    def _drop(self, actor: Any, error: ray.exceptions.RayActorError) -> None:
        if actor in self.actors:
            self.actors.remove(actor)
            self.lost.append((str(error).strip() or "actor died").splitlines()[0][:200])
            log.warning("engine replica lost (%d left): %s", len(self.actors), self.lost[-1])

    def _live(self) -> list[Any]:
        if not self.actors:
            raise EngineError(f"no engine replica left: all died ({'; '.join(self.lost)})")
        return self.actors

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        while True:
            actors = self._live()
            actor = actors[self._next % len(actors)]
            self._next += 1
            sent = request
            if request.concurrency and len(actors) > 1:  # round-robin: each replica sees its share
                sent = dataclasses.replace(request, concurrency=-(-request.concurrency // len(actors)))
            try:
                return await actor.generate.remote(sent)
            except ray.exceptions.RayActorError as e:  # the replica died: try a live one
                self._drop(actor, e)
            except ray.exceptions.RayTaskError as e:
                # The engine's own exception, not Ray's wrapper (whose text starts with a remote traceback),
                # so the episode records the real reason ("malformed JSON", "unreachable", ...).
                cause = getattr(e, "cause", None)
                if isinstance(cause, Exception):
                    raise cause from None
                raise

    async def update_weights(self, weights: Any, version: int) -> None:
        """Push to every live engine; a plain state dict is put in the object store once. A replica that
        died is dropped (as in `generate`)."""
        ref = weights if isinstance(weights, (str, Path)) else ray.put(weights)
        actors = list(self._live())
        results = await asyncio.gather(
            *[a.update_weights.remote(ref, version) for a in actors], return_exceptions=True
        )
        versions = []
        for actor, r in zip(actors, results, strict=True):
            if isinstance(r, ray.exceptions.RayActorError):
                self._drop(actor, r)
            elif isinstance(r, BaseException):
                raise r
            else:
                versions.append(r)
        self._live()
        if any(v != version for v in versions):
            raise RuntimeError(f"weight push: engines report versions {versions}, expected {version}")

    async def shutdown(self) -> None:
        """Stop the engines, then the actors, so their CPUs/GPUs return to the cluster at once."""
        try:
            await _gather([a.shutdown.remote() for a in self.actors])
        finally:
            for a in self.actors:
                ray.kill(a, no_restart=True)


async def _gather(refs: list[Any]) -> list[Any]:
    import asyncio

    return list(await asyncio.gather(*refs))


def env_worker_actor(
    num_cpus: float = 0.5,
    max_restarts: int = 0,
    memory_gb: float = 0.0,
    resources: dict[str, float] | None = None,
) -> Any:
    """`resources`: Ray custom resources each worker asks for, which pin env workers to the nodes declaring them."""
    opts = {"num_cpus": num_cpus, "max_restarts": max_restarts, **memory_option(memory_gb)}
    return ray.remote(**opts, **custom_option(resources))(EnvWorker)


def engine_actor(
    num_cpus: float = 1.0,
    num_gpus: float = 0.0,
    memory_gb: float = 0.0,
    resources: dict[str, float] | None = None,
) -> Any:
    opts = {"num_cpus": num_cpus, "num_gpus": num_gpus, **memory_option(memory_gb)}
    return ray.remote(**opts, **custom_option(resources))(EngineActor)
