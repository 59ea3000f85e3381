"""Finished trajectories waiting for an update, and the task that keeps them coming in async mode."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

from rollout.collector import Collector, Task
from rollout.trajectory import Trajectory


class GroupBuffer:
    """Finished trajectories waiting for an update, released in whole groups: the `group_size` episodes of
    one (task, seed) (GRPO's advantage compares them; a member alone would get 0). A group is complete once
    all its members have arrived, whatever their status; members gone stale before release are dropped, and
    a group left with fewer than min(2, group_size) fresh members with them."""

    def __init__(self, group_size: int) -> None:
        self.group_size = group_size
        self.open: dict[tuple[str, int], list[Trajectory]] = {}  # (env id, seed) -> members so far
        self.ready: list[list[Trajectory]] = []  # complete groups, oldest first
        self.dropped = 0  # stale trajectories dropped (with the groups they left too small)
        self.changed = asyncio.Event()

    def add(self, t: Trajectory) -> None:
        key = (t.env_id, t.seed)
        members = self.open.setdefault(key, [])
        members.append(t)
        if len(members) == self.group_size:
            self.ready.append(self.open.pop(key))
            self.changed.set()

    @property
    def ready_count(self) -> int:
        return sum(len(g) for g in self.ready)

    def _prune(self, min_version: int) -> None:
        """Drop trajectories whose newest turn is older than `min_version` (no longer trainable)."""
        keep_at_least = min(2, self.group_size)
        fresh_groups = []
        for g in self.ready:
            fresh = [t for t in g if max(t.policy_versions, default=min_version) >= min_version]
            if len(fresh) >= keep_at_least:
                fresh_groups.append(fresh)
            self.dropped += len(g) - (len(fresh) if len(fresh) >= keep_at_least else 0)
        self.ready = fresh_groups

    async def take(self, min_n: int, max_n: int, min_version: int) -> list[Trajectory]:
        """Wait until complete groups hold `min_n` fresh trajectories, then take the newest whole groups, at
        most `max_n` trajectories in all."""
        while True:
            self._prune(min_version)
            if self.ready_count >= min_n:
                break
            self.changed.clear()
            await self.changed.wait()
        out: list[list[Trajectory]] = []
        n = 0
        for g in reversed(self.ready):
            if n + len(g) <= max_n:
                out.append(g)
                n += len(g)
        taken = {id(g) for g in out}
        self.ready = [g for g in self.ready if id(g) not in taken]
        return [t for g in reversed(out) for t in g]


async def feed(collector: Collector, tasks: Iterator[Task], buffer: GroupBuffer, counter: list[int]) -> None:
    async def counted() -> AsyncIterator[Task]:
        for t in tasks:
            counter[0] += 1
            yield t

    async for traj in collector.stream(counted()):
        buffer.add(traj)
