"""The RL loop: rollouts stream into a buffer; an update starts once it holds the minimum batch (`pool.min_batch`).

    collector (Ray env workers + engines) --trajectories--> buffer --(>= min batch)--> critic values
      -> advantages -> policy update -> critic update -> weights to every engine (versioned) -> store

In `async` mode the collector never stops: episodes still running continue across the update (partial
rollouts; every turn records its policy version and stale turns are dropped or down-weighted). In `sync`
mode each iteration collects a batch, waits for all of it, then trains (the baseline benchmarks compare).
Either way an update holds whole groups of `pool.group_size` episodes of one (task, seed), as GRPO needs.

Old logprobs are the engine's: the behaviour policy's, at the sampling temperature, at whatever version
sampled each turn (engines report log softmax(z / T)); the learner never recomputes them. The policy version
counts policy updates: an iteration whose policy update is skipped pushes nothing.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from agentrl.config import EVAL_SEED_START, dump_config
from agentrl.eval.episodes import play_collector
from agentrl.eval.plans import round_robin
from agentrl.eval.results import by_task, overall
from agentrl.train.ppo.batch import BadBatch, PPOBatch, build, explained_variance_of, samples_to_value
from agentrl.train.ppo.buffer import GroupBuffer, feed
from agentrl.train.ppo.config import PPOConfig, RolloutPool
from agentrl.train.tensorboard import summary_writer
from rollout.collector import Collector, Task
from rollout.trajectory import Trajectory


def train_tasks(pool: RolloutPool, start_index: int = 0) -> Iterator[Task]:
    """Endless (env id, seed) stream: each seed `group_size` times, tasks round-robin; with `seed_count` the
    groups cycle over that many seeds (a fixed training set) instead of drawing new ones."""
    for i in itertools.count(start_index):
        group = i // pool.group_size
        seed = pool.seed_start + (group % pool.seed_count if pool.seed_count else group)
        if seed >= EVAL_SEED_START:
            raise RuntimeError("training seeds ran into the held-out range")
        yield pool.tasks[group % len(pool.tasks)], seed


class PPOTrainer:
    """Holds the learner groups, the rollout service and the loop state; `run()` does the iterations."""

    def __init__(
        self,
        cfg: PPOConfig,
        resume: Path | None = None,
        on_iteration: Callable[[int, dict[str, float]], None] | None = None,
    ) -> None:
        self.cfg, self.resume, self.on_iteration = cfg, resume, on_iteration
        self.out = Path(cfg.output_dir)
        self.iteration, self.version, self.tasks_issued = 0, 0, 0
        self.history: list[dict[str, float]] = []
        self.rng = random.Random(cfg.actor.seed)  # minibatch shuffling

    # -- setup ---------------------------------------------------------------------------------------------
    def _start(self) -> None:
        import agentrl.train.ppo.objectives  # noqa: F401  (registers "ppo" and "value")
        from agentrl.data.store import StoreWriter, TrajectoryStore
        from agentrl.launch.ray_init import init_ray
        from agentrl.launch.resources import preflight
        from agentrl.train.group import LearnerGroup
        from agentrl.train.ppo.critic import CriticWorker
        from agentrl.train.ppo.placement import colocated_pool, ppo_demand
        from rollout.service import RolloutService

        cfg = self.cfg
        self.out.mkdir(parents=True, exist_ok=True)
        dump_config(cfg, self.out / "config.yaml")
        init_ray(cfg.ray)
        preflight(ppo_demand(cfg), cfg.ray)  # fits the cluster, or one line naming the resource
        total = cfg.iterations * cfg.ppo.epochs * cfg.ppo.minibatches
        self.resource_pool = colocated_pool(cfg) if cfg.colocate else None
        self.actor = LearnerGroup(
            cfg.model, cfg.actor, cfg.actor_optim, total, resource_pool=self.resource_pool
        )
        self.critic = None
        if cfg.uses_critic:
            self.critic = LearnerGroup(
                cfg.critic_model or cfg.model,
                cfg.critic,
                cfg.critic_optim,
                total + cfg.value_pretrain_iterations,
                worker_cls=CriticWorker,
                resource_pool=self.resource_pool,
            )
        self.reference = None
        if cfg.ppo.kl_coef > 0:  # a frozen copy of the starting policy, for KL(pi || pi_ref)
            self.reference = LearnerGroup(
                cfg.model, cfg.actor, cfg.actor_optim, 1, resource_pool=self.resource_pool
            )
        engine_cfg = cfg.engine.model_copy(update={"model": cfg.model})
        self.service = RolloutService.start(
            engine_cfg, cfg.agent, cfg.collector, cfg.placement, cfg.ray, resource_pool=self.resource_pool
        )
        greedy = cfg.agent.model_copy(
            update={"sampling": cfg.agent.sampling.model_copy(update={"temperature": 0.0})}
        )
        self.eval_collector = Collector(
            self.service.engine,
            self.service.tokenizer,
            greedy,
            cfg.collector.model_copy(update={"env_workers": 1}),
        )
        self.writer = StoreWriter(TrajectoryStore(cfg.store), cfg.run, 0, flush_every=10**9)
        self.tb = summary_writer(self.out)

    async def _restore(self) -> None:
        if self.resume is None:
            return
        from agentrl.train.checkpoint import validate_resume

        state = json.loads((self.resume / "loop.json").read_text())
        validate_resume(self.resume / "actor", self.cfg.actor.world_size)
        await asyncio.to_thread(self.actor.load, directory=str(self.resume / "actor"))
        if self.critic is not None:
            validate_resume(self.resume / "critic", self.cfg.critic.world_size)
            await asyncio.to_thread(self.critic.load, directory=str(self.resume / "critic"))
        self.iteration, self.version, self.tasks_issued = (
            state["iteration"],
            state["version"],
            state["tasks_issued"],
        )
        await self.service.engine.update_weights(await asyncio.to_thread(self.actor.state_dict), self.version)

    # -- one update ------------------------------------------------------------------------------------------
    async def _values(self, trajs: list[Trajectory], lambda_critic: float | None = None) -> PPOBatch:
        """The batch: critic values, advantages and returns; old logprobs as the engines reported them."""
        cfg, mb = self.cfg, self.cfg.ppo.micro_batch_size
        samples = samples_to_value(trajs, cfg.rewards)
        values = None
        if self.critic is not None and samples:
            values = await asyncio.to_thread(self.critic.values, samples=samples, micro_batch_size=mb)
        adv = cfg.advantage
        if lambda_critic is not None:
            adv = adv.model_copy(update={"lambda_critic": lambda_critic})
        batch = build(trajs, values, adv, cfg.rewards, cfg.staleness, self.version)
        if self.reference is not None:
            ref = await asyncio.to_thread(
                self.reference.logprobs,
                samples=batch.samples,
                micro_batch_size=mb,
                temperature=cfg.agent.sampling.temperature,
            )
            for extras, lp in zip(batch.policy_extras, ref, strict=True):
                extras["ref_logprobs"] = lp
        return batch

    def _minibatches(self, n: int) -> list[list[int]]:
        """`ppo.minibatches` disjoint index sets over the batch's n samples, freshly shuffled each call."""
        order = list(range(n))
        self.rng.shuffle(order)
        k = self.cfg.ppo.minibatches
        return [order[i::k] for i in range(k)]

    async def _update(self, batch: PPOBatch, policy: bool = True) -> dict[str, float]:
        """`ppo.epochs` passes over shuffled minibatches; metrics summed over every minibatch (token-weighted
        means, mean grad norms); `policy_steps` counts the optimizer steps the policy took."""
        p, sums = self.cfg.ppo, _Sums()
        kwargs = {
            "eps_low": p.eps_low,
            "eps_high": p.eps_high,
            "kl_coef": p.kl_coef,
            "entropy_coef": p.entropy_coef,
            "temperature": self.cfg.agent.sampling.temperature,
        }
        ranks = max(self.cfg.actor.world_size, self.cfg.critic.world_size)
        for _epoch in range(p.epochs):
            for idx in self._minibatches(len(batch.samples)):
                if len(idx) < ranks:
                    continue
                samples = [batch.samples[i] for i in idx]
                if policy:
                    extras = [batch.policy_extras[i] for i in idx]
                    sums.add_policy(await self._train_step(self.actor, samples, "ppo", extras, kwargs))
                if self.critic is not None:
                    extras = [batch.critic_extras[i] for i in idx]
                    clip = {"clip": p.value_clip}
                    sums.add_critic(await self._train_step(self.critic, samples, "value", extras, clip))
        return sums.metrics()

    async def _train_step(
        self, group: Any, samples: list[Any], objective: str, extras: list[Any], kwargs: dict[str, Any]
    ) -> dict[str, float]:
        """One optimizer step of a learner group (actor or critic), off the event loop."""
        return await asyncio.to_thread(
            group.train_step,
            samples=samples,
            micro_batch_size=self.cfg.ppo.micro_batch_size,
            objective=objective,
            extras=extras,
            objective_kwargs=kwargs,
        )

    async def _push(self) -> float:
        """A new policy version to every engine (called only after the policy took a step)."""
        t0 = time.perf_counter()
        self.version += 1
        await self.service.engine.update_weights(await asyncio.to_thread(self.actor.state_dict), self.version)
        return time.perf_counter() - t0

    async def evaluate(self, episodes: int | None = None) -> dict[str, float]:
        """Greedy success on held-out seeds: `episodes` (default eval.episodes) round robin over the tasks."""
        n = episodes if episodes is not None else self.cfg.eval.episodes
        plan = round_robin(self.cfg.pool.tasks, n, self.cfg.eval.seed_start)
        trajs = await play_collector(self.eval_collector, plan)
        per_task = by_task(trajs, self.cfg.pool.tasks)
        out = {"eval_success": overall(per_task)["pooled_success"], "eval_episodes": float(len(trajs))}
        out.update({f"eval_success/{k}": r.success_rate for k, r in per_task.items()})
        return out

    # -- the loop --------------------------------------------------------------------------------------------
    async def run(self) -> dict[str, Any]:
        self._start()
        feeder: asyncio.Task | None = None
        try:
            await self._restore()
            report: dict[str, Any] = {}
            if self.cfg.eval.episodes and self.iteration == 0:
                report["before"] = await self.evaluate()
            started = time.monotonic()  # the time budget counts from here: value pre-training, iterations
            buffer, counter = GroupBuffer(self.cfg.pool.group_size), [self.tasks_issued]
            tasks = train_tasks(self.cfg.pool, self.tasks_issued)
            if self.cfg.mode == "async":
                feeder = asyncio.create_task(feed(self.service.collector, tasks, buffer, counter))
            for _ in range(self.cfg.value_pretrain_iterations if self.iteration == 0 else 0):
                trajs = await self._collect(buffer, tasks, counter, feeder)
                batch = await self._values(trajs, lambda_critic=1.0)
                m = await self._update(batch, policy=False)
                self._log(
                    "value_pretrain", {**batch.stats, **m, "explained_variance": explained_variance_of(batch)}
                )
            while self.iteration < self.cfg.iterations:
                if self.cfg.time_budget_s and time.monotonic() - started >= self.cfg.time_budget_s:
                    print(
                        f"time budget of {self.cfg.time_budget_s:g} s spent after iteration {self.iteration}"
                    )
                    break
                await self._iteration(buffer, tasks, counter, feeder)
                if (
                    self.cfg.eval.every
                    and self.iteration % self.cfg.eval.every == 0
                    and self.cfg.eval.episodes
                ):
                    self._log("eval", await self.evaluate())
            if self.cfg.eval.episodes:
                report["after"] = await self.evaluate()
                self._log("eval", report["after"])
            report["history"] = self.history
            (self.out / "report.json").write_text(json.dumps(report, indent=2))
            return report
        finally:
            if feeder is not None:
                feeder.cancel()
            self.writer.close()
            if self.tb is not None:
                self.tb.close()
            await self.eval_collector.close()  # its own env worker: not the service's
            await self.service.close()
            self.actor.shutdown()
            if self.critic is not None:
                self.critic.shutdown()
            if self.reference is not None:
                self.reference.shutdown()
            if self.resource_pool is not None:
                self.resource_pool.remove()

    async def _collect(
        self, buffer: GroupBuffer, tasks: Iterator[Task], counter: list[int], feeder: asyncio.Task | None
    ) -> list[Trajectory]:
        if feeder is not None:  # async: whatever finished, once the buffer holds the minimum
            if feeder.done():
                feeder.result()  # re-raise a collector failure
            min_version = self.version - self.cfg.staleness.max_staleness
            return await buffer.take(self.cfg.pool.min_batch, self.cfg.pool.max_batch, min_version)
        batch = list(itertools.islice(tasks, self.cfg.pool.min_batch))  # sync: a batch, all of it
        counter[0] += len(batch)
        return [t async for t in self.service.collector.stream(batch)]

    async def _iteration(
        self, buffer: GroupBuffer, tasks: Iterator[Task], counter: list[int], feeder: asyncio.Task | None
    ) -> None:
        t0 = time.perf_counter()
        trajs = await self._collect(buffer, tasks, counter, feeder)
        t_wait = time.perf_counter() - t0
        for t in trajs:
            t.meta.update(run=self.cfg.run, iteration=self.iteration)
            self.writer.add(t)
        self.writer.iteration = self.iteration
        self.writer.flush()  # committed before the update: a crash loses no trajectory
        t1 = time.perf_counter()
        try:
            batch = await self._values(trajs)
            no_signal = batch.stats["adv_nonzero_tokens"] == 0.0  # every trained token has A = 0
            m = await self._update(batch, policy=not no_signal)
            if no_signal:
                m["policy_skipped_zero_advantages"] = 1.0
        except BadBatch as e:
            self._log("skipped", {"reason_bad_batch": 1.0})
            print(f"iteration {self.iteration}: update skipped: {e}")
            batch, m = PPOBatch(stats={"episodes": float(len(trajs))}), {}
        t_update = time.perf_counter() - t1
        t_sync = await self._push() if m.get("policy_steps", 0.0) > 0 else 0.0
        self.iteration += 1
        self.tasks_issued = counter[0]
        turns = [u for t in trajs for u in t.turns]
        m.update(batch.stats)
        m.update(
            explained_variance=explained_variance_of(batch) if batch.samples else float("nan"),
            wait_s=t_wait,
            update_s=t_update,
            sync_s=t_sync,
            iteration_s=time.perf_counter() - t0,
            generate_s=sum(u.timings.get("generate_s", 0.0) for u in turns),
            env_s=sum(u.timings.get("env_s", 0.0) for u in turns),
            max_staleness=float(max((self.version - 1 - u.policy_version for u in turns), default=0)),
            version=float(self.version),
            pool_dropped_stale=float(buffer.dropped),
        )
        self._log("train", m)
        if self.cfg.save_every and self.iteration % self.cfg.save_every == 0:
            await self.save(self.out / "checkpoints" / f"iter-{self.iteration:05d}")

    async def save(self, d: Path) -> None:
        state = {"iteration": self.iteration}
        await asyncio.to_thread(self.actor.save, directory=str(d / "actor"), state=state)
        if self.critic is not None:
            await asyncio.to_thread(self.critic.save, directory=str(d / "critic"), state=state)
        state = {"iteration": self.iteration, "version": self.version, "tasks_issued": self.tasks_issued}
        (d / "loop.json").write_text(json.dumps(state))
        (d / "COMPLETE").write_text("")

    def _log(self, kind: str, m: dict[str, float]) -> None:
        row = {"kind": kind, "iteration": float(self.iteration), **{k: float(v) for k, v in m.items()}}
        self.history.append(row)
        if self.tb is not None:
            for k, v in m.items():
                self.tb.add_scalar(f"{kind}/{k}", float(v), self.iteration)
        if self.on_iteration:
            self.on_iteration(self.iteration, row)


class _Sums:
    """Metrics of every minibatch of an update, summed, then reported per token (losses, clip fraction,
    approx KL) or per step (grad norms)."""

    def __init__(self) -> None:
        self.s: dict[str, float] = {}

    def _add(self, prefix: str, m: dict[str, float], keys: tuple[str, ...]) -> None:
        for k in keys:
            if k in m:
                self.s[prefix + k] = self.s.get(prefix + k, 0.0) + m[k]
        self.s[prefix + "steps"] = self.s.get(prefix + "steps", 0.0) + (1.0 - m.get("skipped", 0.0))
        self.s[prefix + "calls"] = self.s.get(prefix + "calls", 0.0) + 1.0

    def add_policy(self, m: dict[str, float]) -> None:
        keys = (
            "pg_loss_sum",
            "clipped_tokens",
            "approx_kl_sum",
            "kl_sum",
            "entropy_sum",
            "num_tokens",
            "grad_norm",
        )
        self._add("policy_", m, keys)

    def add_critic(self, m: dict[str, float]) -> None:
        self._add("critic_", m, ("vf_loss_sum", "num_tokens", "grad_norm"))

    def metrics(self) -> dict[str, float]:
        s, out = self.s, {}
        if "policy_calls" in s:
            tok = max(s.get("policy_num_tokens", 0.0), 1.0)
            out.update(
                pg_loss=s["policy_pg_loss_sum"] / tok,
                clipfrac=s["policy_clipped_tokens"] / tok,
                approx_kl=s["policy_approx_kl_sum"] / tok,
                actor_grad_norm=s["policy_grad_norm"] / s["policy_calls"],
                policy_steps=s["policy_steps"],
            )
            if "policy_kl_sum" in s:  # KL(pi || pi_ref) per token, kl_coef > 0
                out["kl_ref"] = s["policy_kl_sum"] / tok
            if "policy_entropy_sum" in s:  # entropy_coef > 0
                out["entropy"] = s["policy_entropy_sum"] / tok
        if "critic_calls" in s:
            out.update(
                value_loss=s["critic_vf_loss_sum"] / max(s.get("critic_num_tokens", 0.0), 1.0),
                critic_grad_norm=s["critic_grad_norm"] / s["critic_calls"],
            )
        return out
