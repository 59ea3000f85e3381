"""Fresh expert demonstrations while SFT trains: a recorded demo of a cheap task is swapped for a new one.

A small model SFT'd on a fixed pool of demonstrations memorises them before it learns to copy the named
element's centre (the element-copy probe: a pool of 2,400 samples reaches training loss 0.002 and 11%
held out, fresh samples 53%; issue 23). For tasks whose scripted expert costs milliseconds an episode (the
toy's), `TrainData.fresh.tasks` has the SFT play the expert on a new training seed whenever the store's
stream yields a sample of that task: the batch composition stays the store's, the samples are never seen
twice. Seeds count up from `seed_start` and stay below the evaluation seeds (agentrl.config.EVAL_SEED_START).

A background thread plays the episodes ahead of the learner (`prefetch` samples a task); the k-th fresh
episode of a task uses seed `seed_start + k`, so a resumed run (which counts the swaps in the samples it
skips) goes on with new seeds rather than repeating old ones.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from typing import Any

from pydantic import model_validator

from agentrl.config import EVAL_SEED_START, StrictModel
from agentrl.data.samples import TrainSample, sft_samples
from rollout.agent import AgentConfig


class FreshDemosError(ValueError):
    pass


class FreshDemos(StrictModel):
    tasks: list[str] = []  # env ids (with a scripted expert) played anew for every sample of theirs
    seed_start: int = 500_000  # the first fresh training seed; fresh seeds stay below EVAL_SEED_START
    agent: AgentConfig = AgentConfig()  # how the prompt shows the episode (as the demos stage records it)
    prefetch: int = 256  # samples played ahead, per task

    @model_validator(mode="after")
    def _seeds_below_eval(self) -> FreshDemos:
        if not 0 <= self.seed_start < EVAL_SEED_START:
            raise ValueError(f"seed_start must be in [0, {EVAL_SEED_START}): seeds from there are held out")
        return self


def check_tasks(cfg: FreshDemos) -> None:
    """One line naming the field for a task that is unknown or has no scripted expert."""
    import envs

    for task in cfg.tasks:
        try:
            spec = envs.spec(task)
        except KeyError:
            raise FreshDemosError(f"data.fresh.tasks: unknown env id '{task}'") from None
        if not spec.has_expert:
            raise FreshDemosError(f"data.fresh.tasks: '{task}' has no scripted expert to play fresh demos")


class FreshSamples:
    """SFT samples of scripted-expert episodes on new seeds, played by a background thread."""

    def __init__(self, cfg: FreshDemos, tokenizer: Any, episodes_done: dict[str, int] | None = None) -> None:
        self.cfg, self.tok = cfg, tokenizer
        self.next_seed = {t: cfg.seed_start + (episodes_done or {}).get(t, 0) for t in cfg.tasks}
        self.queues: dict[str, queue.Queue[TrainSample]] = {
            t: queue.Queue(maxsize=cfg.prefetch) for t in cfg.tasks
        }
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._play_all, name="agentrl-fresh-demos", daemon=True)
        self._thread.start()

    def take(self, task: str) -> TrainSample:
        while True:
            try:
                return self.queues[task].get(timeout=0.5)
            except queue.Empty:
                if self._error is not None:
                    raise self._error from None

    def _play_all(self) -> None:
        from rollout.engines.scripted import ExpertEngine
        from rollout.episode import run_episode
        from rollout.local_env import LocalEnv

        loop = asyncio.new_event_loop()
        env = LocalEnv()
        engine = ExpertEngine(self.tok)
        try:
            while not self._stop.is_set():
                # the emptiest queue first: every task's learner side waits on its own queue
                task = min(self.cfg.tasks, key=lambda t: self.queues[t].qsize())
                seed = self.next_seed[task]
                if seed >= EVAL_SEED_START:
                    raise FreshDemosError(
                        f"data.fresh: '{task}' used every training seed up to {EVAL_SEED_START} "
                        "(lower data.fresh.seed_start)"
                    )
                self.next_seed[task] = seed + 1
                traj = loop.run_until_complete(run_episode(engine, env, self.tok, self.cfg.agent, task, seed))
                if not traj.success:  # SFT learns successes only, as from the store
                    continue
                for s in sft_samples([traj]):
                    s.source = f"fresh:{task}:{seed}"
                    while not self._stop.is_set():
                        try:
                            self.queues[task].put(s, timeout=0.5)
                            break
                        except queue.Full:
                            continue
        except BaseException as e:  # noqa: BLE001 - handed to the learner's side, which raises it
            self._error = e
        finally:
            env.close()
            loop.close()

    def close(self) -> None:
        self._stop.set()
        for q in self.queues.values():  # unblock a producer waiting on a full queue
            while not q.empty():
                q.get_nowait()
        self._thread.join(timeout=10)
