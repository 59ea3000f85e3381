"""The learner's data: samples streamed from the trajectory store, epoch after epoch, resumable.

The order is deterministic for a seed (store parts in name order, a seeded streaming shuffle per epoch),
so the data position saved in a checkpoint (samples consumed) is enough to continue exactly.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from typing import Any, Literal

from agentrl.config import StrictModel
from agentrl.data.augment import PointTokens, shift_sample
from agentrl.data.fs import StoreURL
from agentrl.data.samples import TrainSample, ct_samples, sft_samples, shuffled
from agentrl.data.store import Query, TrajectoryStore
from agentrl.train.fresh import FreshDemos, FreshSamples


class DataError(ValueError):
    pass


class TrainData(StrictModel):
    store: StoreURL = "runs/store"  # a path or an fsspec URL (s3://bucket/prefix, ...)
    runs: list[str] = ["demos"]  # store runs to read (with `pool` and runs not given: every run)
    pool: str | None = None  # only members of this routed pool ("sft": V=1, "ct": V=0; `agentrl data route`)
    iterations: list[int] | None = None  # None: all
    tasks: list[str] | None = None  # env ids or family prefixes; None: all
    success: bool | None = True  # SFT: successes only; CT: None (everything)
    shuffle_buffer: int = 4096
    max_samples: int | None = None  # cap per epoch (quick runs)
    # SFT: shift every sample's screenshots and points by a random offset of up to this fraction of the
    # screen (agentrl.data.augment: grid layouts and recycled demos otherwise teach a small model the usual
    # centres instead of copying the named one); 0: off. Needs whole-integer tokens and screen coordinates.
    shift_max_frac: float = 0.0
    # SFT: tasks whose recorded demos are swapped, sample for sample, for demos their scripted expert plays
    # on new seeds while the SFT trains (agentrl.train.fresh): a fixed pool is memorised, not copied from
    fresh: FreshDemos = FreshDemos()


def _runs(cfg: TrainData) -> list[str | None]:
    if cfg.pool is not None and "runs" not in cfg.model_fields_set:
        return [None]  # a pool spans runs (demos, rejection sampling, rollouts)
    return list(cfg.runs)


def _trajectories(cfg: TrainData) -> Iterator:
    store = TrajectoryStore(cfg.store)
    if cfg.pool is not None and cfg.pool not in store.pools.names():
        known = ", ".join(store.pools.names()) or "none yet: run `agentrl data route`"
        raise DataError(f"data.pool: no pool '{cfg.pool}' in store '{cfg.store}' (pools: {known})")
    for run in _runs(cfg):
        for it in cfg.iterations or [None]:
            q = Query(run=run, iteration=it, success=cfg.success, status="ok", pool=cfg.pool)
            for traj in store.query(q):
                if cfg.tasks is None or any(traj.env_id.startswith(t) for t in cfg.tasks):
                    yield traj


def validate(sample: TrainSample, image_token_id: int) -> TrainSample:
    pads = sum(1 for t in sample.input_ids if t == image_token_id)
    if pads != len(sample.images):
        raise DataError(f"sample from {sample.source}: {pads} image tokens but {len(sample.images)} images")
    if len(sample.loss_mask) != len(sample.input_ids):
        raise DataError(
            f"sample from {sample.source}: loss mask length {len(sample.loss_mask)} != {len(sample.input_ids)} tokens"
        )
    return sample


def epoch_samples(
    cfg: TrainData, objective: Literal["sft", "ct"], image_token_id: int, epoch: int, seed: int
) -> Iterator[TrainSample]:
    trajs = _trajectories(cfg)
    base = sft_samples(trajs) if objective == "sft" else ct_samples(trajs, image_token_id)
    for n, s in enumerate(shuffled(base, cfg.shuffle_buffer, seed=seed * 1000 + epoch)):
        if cfg.max_samples is not None and n >= cfg.max_samples:
            return
        yield validate(s, image_token_id)


def sample_stream(
    cfg: TrainData,
    objective: Literal["sft", "ct"],
    image_token_id: int,
    seed: int,
    skip: int = 0,
    points: PointTokens | None = None,
    tokenizer: Any = None,
) -> Iterator[TrainSample]:
    """Endless stream over epochs; `skip` samples are consumed first (resume). Raises DataError if empty.
    With `points` (SFT, `cfg.shift_max_frac` > 0) each sample is shifted, with a generator seeded by its
    position in the stream, so a resumed run sees the same samples. With `cfg.fresh.tasks` (SFT, and the
    model's `tokenizer`) a sample of such a task is swapped for a new scripted-expert one."""
    shift = points is not None and objective == "sft" and cfg.shift_max_frac > 0
    fresh_tasks = set(cfg.fresh.tasks) if objective == "sft" and tokenizer is not None else set()
    swapped: Counter[str] = Counter()  # per fresh task, samples swapped so far (the skipped ones too)
    fresh: FreshSamples | None = None
    consumed = 0
    epoch = 0
    try:
        while True:
            produced = 0
            for s in epoch_samples(cfg, objective, image_token_id, epoch, seed):
                produced += 1
                consumed += 1
                if s.task in fresh_tasks:
                    swapped[s.task] += 1
                    if consumed > skip:
                        if fresh is None:  # started after the skip: new seeds past those already used
                            fresh = FreshSamples(cfg.fresh, tokenizer, episodes_done=dict(swapped))
                        s = validate(fresh.take(s.task), image_token_id)
                if consumed > skip:
                    yield (
                        shift_sample(
                            s, points, random.Random(seed * 1_000_003 + consumed), cfg.shift_max_frac
                        )
                        if shift
                        else s
                    )
            if produced == 0:
                raise _empty(cfg, objective)
            epoch += 1
    finally:
        if fresh is not None:
            fresh.close()


def _empty(cfg: TrainData, objective: str) -> DataError:
    return DataError(
        f"data: no {objective.upper()} samples in store '{cfg.store}'"
        + (f" for runs {cfg.runs}" if _runs(cfg) != [None] else " in any run")
        + (f" in pool '{cfg.pool}'" if cfg.pool else "")
        + (" (successes only)" if cfg.success else "")
        + " — create demonstrations with `agentrl data demos` or `agentrl rollout`"
    )


def first_trainable(stream: Iterator[TrainSample], limit: int = 10_000) -> None:
    """Fail fast on a dataset with no trainable tokens (looks at up to `limit` samples)."""
    for i, s in enumerate(stream):
        if s.num_trainable > 0:
            return
        if i >= limit:
            break
    raise DataError("data: no trainable tokens in the first samples (every loss mask is 0)")
