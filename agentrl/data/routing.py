"""Routing by the validator: V=1 -> the SFT pool, V=0 -> the CT pool; rejection sampling; dedup.

Pools are named id sets beside the store (agentrl.data.pools): routing never copies a trajectory.
Every attempt is kept in the store; what rejection sampling rejects from SFT still feeds CT.

Dedup: within a pool, a trajectory whose action sequence equals one already there for the same task
instance (env id and seed) adds nothing and is left out of that pool (counted as a duplicate). The same
actions on another seed are different data (other screens), so they are kept.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field

from agentrl.data.pools import PoolEntry
from agentrl.data.query import Query
from agentrl.data.schema import actions_key
from agentrl.data.store import TrajectoryStore
from agentrl.data.validate import Validator, Verdict, validate_all
from rollout.trajectory import Trajectory

SFT_POOL, CT_POOL = "sft", "ct"
POOL_OF = {1: SFT_POOL, 0: CT_POOL}

DedupKey = tuple[str, int, str]  # env id, seed, canonical action sequence


def dedup_key(t: Trajectory) -> DedupKey:
    return (t.env_id, t.seed, t.actions_key())


class Deduper:
    """The dedup keys already in each pool (read once from the store), updated as trajectories are routed."""

    def __init__(self, store: TrajectoryStore, pools: Sequence[str] = (SFT_POOL, CT_POOL)) -> None:
        self.keys: dict[str, set[DedupKey]] = {p: set() for p in pools}
        for pool in pools:
            if pool not in store.pools.names():
                continue
            for _, table in store.tables(Query(pool=pool), ["env_id", "seed", "turns"]):
                for env_id, seed, turns in zip(*(table[c].to_pylist() for c in ("env_id", "seed", "turns"))):
                    self.keys[pool].add((env_id, seed, actions_key(turns)))

    def add(self, pool: str, key: DedupKey) -> bool:
        """Record `key` in `pool`; False when it was already there (a duplicate)."""
        seen = self.keys.setdefault(pool, set())
        if key in seen:
            return False
        seen.add(key)
        return True


@dataclass
class RouteStats:
    sft: int = 0
    ct: int = 0
    duplicates: int = 0

    def __iadd__(self, other: RouteStats) -> RouteStats:
        self.sft, self.ct, self.duplicates = (
            self.sft + other.sft,
            self.ct + other.ct,
            self.duplicates + other.duplicates,
        )
        return self


def route(
    store: TrajectoryStore,
    trajectories: Iterable[Trajectory],
    verdicts: Iterable[Verdict],
    deduper: Deduper | None = None,
) -> RouteStats:
    """Add committed trajectories to the SFT (V=1) or CT (V=0) pool, one atomic file per pool.

    `deduper`: None routes every trajectory; pass one (`Deduper(store)`) to leave duplicates out."""
    entries: dict[str, list[PoolEntry]] = {SFT_POOL: [], CT_POOL: []}
    stats = RouteStats()
    for t, v in zip(trajectories, verdicts, strict=True):
        pool = POOL_OF[v.v]
        if deduper is not None and not deduper.add(pool, dedup_key(t)):
            stats.duplicates += 1
            continue
        entries[pool].append(PoolEntry(t.id, v.v, v.validator, v.reason))
    for pool, es in entries.items():
        store.pools.add(pool, es)
    stats.sft, stats.ct = len(entries[SFT_POOL]), len(entries[CT_POOL])
    return stats


async def route_store(
    store: TrajectoryStore, validator: Validator, q: Query | None = None, dedup: bool = True, batch: int = 64
) -> RouteStats:
    """Validate and route stored trajectories (streamed in batches of `batch`)."""
    deduper = Deduper(store) if dedup else None
    total, chunk = RouteStats(), []
    for t in store.query(q):
        chunk.append(t)
        if len(chunk) >= batch:
            total += route(store, chunk, await validate_all(validator, chunk), deduper)
            chunk = []
    if chunk:
        total += route(store, chunk, await validate_all(validator, chunk), deduper)
    return total


Play = Callable[[str, int], Awaitable[Trajectory]]  # (env id, seed) -> one episode


@dataclass
class RejectionStats:
    attempts: int = 0
    kept: int = 0  # V=1 attempts
    route: RouteStats = field(default_factory=RouteStats)
    successes_by_task: dict[str, int] = field(default_factory=dict)  # "env_id:seed" -> V=1 attempts
    kept_ids: list[str] = field(default_factory=list)


async def rejection_sample(
    store: TrajectoryStore,
    play: Play,
    tasks: Sequence[tuple[str, int]],
    attempts: int,
    validator: Validator,
    run: str = "reject",
    iteration: int = 0,
    concurrency: int = 1,
    dedup: bool = True,
) -> RejectionStats:
    """K = `attempts` episodes per (env id, seed); all are stored, the V=1 ones kept for SFT, the rest CT.

    Tasks are committed one at a time (a killed run keeps the tasks it finished); `concurrency` episodes
    of a task run at once (1 for a single local env)."""
    if attempts < 1:
        raise ValueError(f"attempts must be >= 1, got {attempts}")
    deduper = Deduper(store) if dedup else None
    stats, gate = RejectionStats(), asyncio.Semaphore(concurrency)

    async def one(env_id: str, seed: int, k: int) -> Trajectory:
        async with gate:
            t = await play(env_id, seed)
        t.meta.update(attempt=k)
        return t

    for env_id, seed in tasks:
        trajs = list(await asyncio.gather(*(one(env_id, seed, k) for k in range(attempts))))
        verdicts = await validate_all(validator, trajs)
        store.write(trajs, run, iteration)
        stats.route += route(store, trajs, verdicts, deduper)
        stats.attempts += len(trajs)
        kept = [t.id for t, v in zip(trajs, verdicts) if v.v]
        stats.kept += len(kept)
        stats.kept_ids += kept
        stats.successes_by_task[f"{env_id}:{seed}"] = len(kept)
    return stats
