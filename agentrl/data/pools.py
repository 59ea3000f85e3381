"""Pools: named sets of trajectory ids kept beside the store (the trajectories themselves are not copied).

    ROOT/pools/<name>/<time>-<uuid>.jsonl     one entry per line: {"id", "verdict", "validator", "reason"}

Adding to a pool writes a new file atomically, so any number of processes can add at once without locks
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

from agentrl.data.atomic import atomic_write

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
    def __init__(self, root: str | Path, durable: bool = True) -> None:
        self.root = Path(root)
        self.durable = durable

    def _dir(self, name: str) -> Path:
        if not NAME.match(name):
            raise PoolError(f"pool name '{name}': use letters, digits, '.', '_' and '-'")
        return self.root / name

    def names(self) -> list[str]:
        return sorted(p.name for p in self.root.glob("*") if p.is_dir()) if self.root.exists() else []

    def add(self, name: str, entries: Iterable[PoolEntry]) -> Path | None:
        """Add entries as one atomic file; returns it (None when there was nothing to add)."""
        lines = [json.dumps(asdict(e), sort_keys=True) for e in entries]
        if not lines:
            return None
        path = self._dir(name) / f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.jsonl"
        atomic_write(path, ("\n".join(lines) + "\n").encode(), self.durable)
        return path

    def entries(self, name: str) -> dict[str, PoolEntry]:
        out: dict[str, PoolEntry] = {}
        for path in sorted(self._dir(name).glob("*.jsonl")):
            for n, line in enumerate(path.read_text().splitlines(), 1):
                try:
                    e = PoolEntry(**json.loads(line))
                except (json.JSONDecodeError, TypeError) as err:
                    raise PoolError(f"{path}:{n}: not a pool entry ({err})") from None
                out[e.id] = e
        return out

    def ids(self, name: str) -> set[str]:
        return set(self.entries(name))

    def compact(self, name: str) -> Path | None:
        """Merge a pool's files into one (the merged file is committed before the old ones go)."""
        old = sorted(self._dir(name).glob("*.jsonl"))
        if len(old) < 2:
            return old[0] if old else None
        merged = self.add(name, self.entries(name).values())
        for p in old:
            p.unlink(missing_ok=True)
        return merged
