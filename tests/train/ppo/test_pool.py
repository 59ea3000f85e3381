"""The async pool hands updates whole GRPO groups, whatever order episodes finish in."""

from __future__ import annotations

import asyncio
import random
from collections import Counter

from agentrl.train.ppo.buffer import GroupBuffer, feed
from agentrl.train.ppo.config import RolloutPool
from agentrl.train.ppo.loop import train_tasks
from rollout.trajectory import Trajectory, Turn


def _traj(env_id: str, seed: int, version: int = 0) -> Trajectory:
    return Trajectory(
        env_id, seed, "", [Turn([1], [2], [-1.0], "", [], policy_version=version)], terminated=True
    )


class ScrambledCollector:
    """Starts tasks 12 at a time and finishes them in a shuffled order (long and short episodes)."""

    def __init__(self, seed: int = 0) -> None:
        self.rng = random.Random(seed)

    async def stream(self, tasks):
        running = []
        async for env_id, seed in tasks:
            running.append(_traj(env_id, seed))
            if len(running) == 12:
                self.rng.shuffle(running)
                for t in running[:8]:  # 4 stay running into the next round
                    yield t
                    await asyncio.sleep(0)
                running = running[8:]


def test_every_async_update_holds_whole_groups():
    pool_cfg = RolloutPool(tasks=["a", "b", "c"], group_size=4, min_batch=8, max_batch=12)

    async def run() -> list[list[Trajectory]]:
        pool = GroupBuffer(pool_cfg.group_size)
        feeder = asyncio.create_task(feed(ScrambledCollector(), train_tasks(pool_cfg), pool, [0]))
        try:
            return [await pool.take(pool_cfg.min_batch, pool_cfg.max_batch, 0) for _ in range(6)]
        finally:
            feeder.cancel()

    for batch in asyncio.run(run()):
        sizes = Counter((t.env_id, t.seed) for t in batch)
        assert 8 <= len(batch) <= 12 and set(sizes.values()) == {4}, sizes


def test_stale_members_leave_their_group_and_a_group_of_one_is_dropped():
    pool = GroupBuffer(group_size=4)
    for v in (0, 5, 5, 5):  # one member sampled long ago
        pool.add(_traj("a", 1, v))
    for v in (0, 0, 0, 5):  # only one member fresh: no group left to compare against
        pool.add(_traj("a", 2, v))
    for v in (5, 5):  # half a group: not released yet
        pool.add(_traj("a", 3, v))
    out = asyncio.run(pool.take(1, 12, min_version=3))
    assert [(t.seed, t.policy_versions[0]) for t in out] == [(1, 5)] * 3
    assert pool.dropped == 1 + 4 and sum(len(g) for g in pool.open.values()) == 2
