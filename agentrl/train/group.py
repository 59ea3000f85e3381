"""The learner group: N LearnerWorker ranks as Ray actors in one placement group (or one in-process worker).

The driver talks to the group only: it deals each rank its share of a batch, gathers metrics, and asks
rank 0 for weights. Ranks are placed with a PACK placement group of their own so a multi-GPU node fills first,
or, colocated, rank r in bundle r of a shared resource pool (agentrl.launch.placement.ResourcePool).
"""

from __future__ import annotations

from typing import Any

from agentrl.data.samples import TrainSample
from agentrl.launch.placement import ResourcePool, bundle_shape, custom_option, memory_option
from agentrl.train.batch import split_for_ranks
from agentrl.train.config import LearnerConfig, OptimConfig
from agentrl.train.worker import LearnerWorker

SUMMED = ("nll_sum", "tokens", "batch_tokens", "pg_loss_sum", "vf_loss_sum", "clipped_tokens", "kl_sum",
          "entropy_sum", "approx_kl_sum", "num_tokens")  # fmt: skip


class LearnerGroup:
    def __init__(
        self,
        model_path: str,
        cfg: LearnerConfig,
        optim: OptimConfig,
        total_steps: int,
        worker_cls: type = LearnerWorker,
        resource_pool: ResourcePool | None = None,
        **worker_kwargs: Any,
    ) -> None:
        self.cfg = cfg
        self.local = cfg.local
        if self.local:
            self.workers: list[Any] = [worker_cls(model_path, cfg, optim, total_steps, 0, **worker_kwargs)]
            self.info = [self.workers[0].setup()]
            return
        import ray

        self.own_pool = resource_pool is None
        if resource_pool is None:
            shape = bundle_shape(
                cfg.num_cpus_per_worker, cfg.num_gpus_per_worker, cfg.memory_gb_per_worker, cfg.resources
            )
            resource_pool = ResourcePool.of([dict(shape) for _ in range(cfg.world_size)])
        elif resource_pool.size < cfg.world_size:
            raise ValueError(
                f"a resource pool of {resource_pool.size} bundles cannot hold {cfg.world_size} ranks"
            )
        self.resource_pool = resource_pool
        actor = ray.remote(worker_cls)
        self.workers = [
            actor.options(num_cpus=cfg.num_cpus_per_worker, num_gpus=cfg.num_gpus_per_worker,
                          **memory_option(cfg.memory_gb_per_worker), **custom_option(cfg.resources),
                          scheduling_strategy=resource_pool.strategy(r),
                          ).remote(model_path, cfg, optim, total_steps, r, **worker_kwargs)
            for r in range(cfg.world_size)
        ]  # fmt: skip
        master = ray.get(self.workers[0].address.remote()) if cfg.world_size > 1 else None
        self.info = ray.get([w.setup.remote(master) for w in self.workers])

    # -- plumbing ----------------------------------------------------------------------------------------
    def call(self, method: str, per_rank: list[tuple] | None = None, **kwargs: Any) -> list[Any]:
        """Call `method` on every rank (with per-rank positional args) and wait for all."""
        per_rank = per_rank or [()] * len(self.workers)
        if self.local:
            return [getattr(self.workers[0], method)(*per_rank[0], **kwargs)]
        import ray

        return ray.get(
            [getattr(w, method).remote(*a, **kwargs) for w, a in zip(self.workers, per_rank, strict=True)]
        )

    # -- API -----------------------------------------------------------------------------------------------
    def train_step(
        self,
        samples: list[TrainSample],
        micro_batch_size: int,
        objective: str = "nll",
        extras: list[dict[str, list[float]]] | None = None,
        global_trainable: float | None = None,
        objective_kwargs: dict[str, Any] | None = None,
    ) -> dict[str, float]:
        """One optimizer step on a global batch, dealt over the ranks."""
        if len(samples) < len(self.workers):
            raise ValueError(f"a batch of {len(samples)} samples cannot feed {len(self.workers)} ranks")
        if global_trainable is None:
            global_trainable = float(sum(s.num_trainable for s in samples))
        indexed = [_Indexed(s, i) for i, s in enumerate(samples)]
        shards = split_for_ranks(indexed, len(self.workers))
        num_micro = max(-(-len(sh) // micro_batch_size) for sh in shards)
        per_rank = [
            (
                [x.sample for x in sh],
                global_trainable,
                micro_batch_size,
                objective,
                [extras[x.index] for x in sh] if extras is not None else None,
                num_micro,
                objective_kwargs,
            )
            for sh in shards
        ]
        results = self.call("train_step", per_rank)
        merged = {k: sum(r.get(k, 0.0) for r in results) for k in SUMMED if any(k in r for r in results)}
        rank0 = results[0]
        for k in ("grad_norm", "lr", "skipped"):
            if k in rank0:
                merged[k] = rank0[k]
        merged["step_s"] = max(r["step_s"] for r in results)
        for k in rank0:
            merged.setdefault(k, sum(r.get(k, 0.0) for r in results))
        merged["global_trainable"] = global_trainable
        return merged

    def _per_token(
        self, method: str, samples: list[TrainSample], micro_batch_size: int, *extra: Any
    ) -> list[list[float]]:
        """Run a per-token forward method over samples spread across ranks (every rank joins every forward)."""
        n = len(self.workers)
        chunks = [samples[r::n] for r in range(n)]
        width = max(len(c) for c in chunks)
        padded = [c + [samples[0]] * (width - len(c)) for c in chunks]
        results = self.call(method, [(c, micro_batch_size, *extra) for c in padded])
        out: list[list[float]] = [[] for _ in samples]
        for r, res in enumerate(results):
            for j, values in enumerate(res[: len(chunks[r])]):
                out[r + j * n] = values
        return out

    def logprobs(
        self, samples: list[TrainSample], micro_batch_size: int = 8, temperature: float = 1.0
    ) -> list[list[float]]:
        """Per-token logprobs of each sample under the current weights (of softmax(z / temperature))."""
        return self._per_token("logprobs", samples, micro_batch_size, temperature)

    def values(self, samples: list[TrainSample], micro_batch_size: int = 8) -> list[list[float]]:
        """Per-token values (critic groups only)."""
        return self._per_token("values", samples, micro_batch_size)

    async def run(self, fn: str, *args: Any, **kwargs: Any) -> Any:
        """Any group method without blocking the event loop (the collector keeps running meanwhile)."""
        import asyncio

        return await asyncio.to_thread(getattr(self, fn), *args, **kwargs)

    def state_dict(self) -> dict[str, Any]:
        return self.call("full_state_dict")[0]

    def save(self, directory: str, state: dict[str, Any]) -> None:
        self.call("save", [(directory, state)] * len(self.workers))

    def load(self, directory: str) -> None:
        self.call("load", [(directory,)] * len(self.workers))

    def shutdown(self) -> None:
        if self.local:
            return
        import ray

        try:
            self.call("shutdown")
        finally:
            for w in self.workers:
                ray.kill(w)
            if self.own_pool:
                self.resource_pool.remove()


class _Indexed:
    __slots__ = ("sample", "index", "input_ids")

    def __init__(self, sample: TrainSample, index: int) -> None:
        self.sample, self.index, self.input_ids = sample, index, sample.input_ids
