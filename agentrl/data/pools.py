"""Pools: named sets of trajectory ids kept beside the store (the trajectories themselves are not copied).

    ROOT/pools/<name>/<time>-<uuid>.jsonl     one entry per line: {"id", "verdict", "validator", "reason"}

Adding to a pool writes a new file atomically (on any store root: agentrl.data.fs), so any number of processes can add at once without locks
and a killed writer adds all of its entries or none. A pool's members are the union of its files; when an
id appears twice, the later entry wins. `compact` merges a pool's files into one.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from agentrl.data.fs import LocalRoot, RemoteRoot, Root, open_root

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class PoolEntry:
    id: str
    verdict: int = 1  # the validator's V
    validator: str = ""
    reason: str = ""


class PoolError(ValueError):
    pass


class Pools:
    def __init__(self, root: str | Path | Root, durable: bool = True) -> None:
        """`root`: the pools directory (a path, an fsspec URL, or a store root's `child("pools")`)."""
        self._root = root if isinstance(root, LocalRoot | RemoteRoot) else open_root(root, durable)
        self.root = self._root.where()

    def _check(self, name: str) -> str:
        if not NAME.match(name):
            raise PoolError(f"pool name '{name}': use letters, digits, '.', '_' and '-'")
        return name

    def _files(self, name: str) -> list[str]:
        return sorted(self._root.glob(f"{self._check(name)}/*.jsonl"))

    def names(self) -> list[str]:
        return sorted(self._root.subdirs())

    def add(self, name: str, entries: Iterable[PoolEntry]) -> Path | str | None:
        """Add entries as one atomic file; returns it (None when there was nothing to add)."""
        lines = [json.dumps(asdict(e), sort_keys=True) for e in entries]
        if not lines:
            return None
        rel = f"{self._check(name)}/{time.time_ns()}-{uuid.uuid4().hex[:8]}.jsonl"
        self._root.write(rel, ("\n".join(lines) + "\n").encode())
        return self._root.where(rel)

    def entries(self, name: str) -> dict[str, PoolEntry]:
        out: dict[str, PoolEntry] = {}
        for rel in self._files(name):
            for n, line in enumerate(self._root.read_bytes(rel).decode().splitlines(), 1):
                try:
                    e = PoolEntry(**json.loads(line))
                except (json.JSONDecodeError, TypeError) as err:
                    raise PoolError(f"{self._root.where(rel)}:{n}: not a pool entry ({err})") from None
                out[e.id] = e
        return out

    def ids(self, name: str) -> set[str]:
        return set(self.entries(name))

    def compact(self, name: str) -> Path | str | None:
        """Merge a pool's files into one (the merged file is committed before the old ones go)."""
        old = self._files(name)
        if len(old) < 2:
            return self._root.where(old[0]) if old else None
        merged = self.add(name, self.entries(name).values())
        for rel in old:
            self._root.remove(rel)
        return merged
