"""The trajectory store: append-only Parquet parts plus content-addressed PNG images on local disk.

    ROOT/
      parts/run=<run>/iteration=<k>/part-<time>-<uuid>.parquet   one row per trajectory
      images/<ab>/<ref>.png                                       each distinct screenshot once
      manifests/<run>.json                                        per-run summary (rebuilt from parts)

Every file appears by an atomic rename of a finished temporary file, so a part that exists is complete:
a writer killed mid-write leaves only `.tmp-*` files, which readers ignore and `gc()` removes. Writers
never share a file (parts carry a uuid; two writers of the same image write identical bytes), so
concurrent writers from several processes or Ray actors are safe. A corrupt part is reported by name and
skipped; the rest of the store stays readable. Rows record their schema version and older rows are
migrated on read.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from agentrl.data.schema import SCHEMA, from_row, migrate_row, to_row
from rollout.trajectory import Trajectory, decode_png, png_bytes


class StoreError(RuntimeError):
    pass


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{uuid.uuid4().hex}-{path.name}")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


@dataclass
class Query:
    run: str | None = None
    iteration: int | None = None
    env_id: str | None = None
    task: str | None = None  # env family prefix, e.g. "agentrl/miniwob"
    success: bool | None = None
    status: str | None = None
    policy_version: int | None = None  # trajectories whose every turn is at least this version
    since: float | None = None  # created_at >= since (unix seconds)
    until: float | None = None
    ids: list[str] | None = None


@dataclass
class TrajectoryStore:
    root: Path
    errors: list[str] = field(default_factory=list)  # problems met while reading, one line each

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        (self.root / "parts").mkdir(parents=True, exist_ok=True)
        (self.root / "images").mkdir(parents=True, exist_ok=True)

    # -- writing ---------------------------------------------------------------------------------------
    def image_path(self, ref: str) -> Path:
        return self.root / "images" / ref[:2] / f"{ref}.png"

    def put_images(self, images: dict[str, np.ndarray]) -> int:
        """Write images not yet stored; returns how many were new."""
        new = 0
        for ref, img in images.items():
            p = self.image_path(ref)
            if not p.exists():
                _atomic_write(p, png_bytes(img))
                new += 1
        return new

    def write(self, trajectories: list[Trajectory], run: str = "default", iteration: int = 0) -> Path | None:
        """Commit a batch as one part (images first, so a committed row never points at a missing image)."""
        if not trajectories:
            return None
        for t in trajectories:
            self.put_images(t.images)
        table = pa.Table.from_pylist([to_row(t, run, iteration) for t in trajectories], schema=SCHEMA)
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink, compression="zstd")
        name = f"part-{time.time_ns()}-{uuid.uuid4().hex[:8]}.parquet"
        path = self.root / "parts" / f"run={run}" / f"iteration={iteration}" / name
        _atomic_write(path, sink.getvalue().to_pybytes())
        return path

    # -- reading ---------------------------------------------------------------------------------------
    def parts(self, run: str | None = None, iteration: int | None = None) -> list[Path]:
        base = self.root / "parts"
        pattern = f"run={run if run is not None else '*'}/iteration={iteration if iteration is not None else '*'}/part-*.parquet"
        return sorted(base.glob(pattern))

    def runs(self) -> list[str]:
        return sorted(p.name.split("=", 1)[1] for p in (self.root / "parts").glob("run=*"))

    def _read_part(self, path: Path, q: Query) -> pa.Table | None:
        try:
            table = pq.read_table(path)
        except Exception as e:  # corrupt or truncated: name it, keep going
            self.errors.append(
                f"{path}: unreadable part ({type(e).__name__}: {str(e).splitlines()[0][:120]})"
            )
            return None
        mask = None

        def both(m: Any) -> None:
            nonlocal mask
            mask = m if mask is None else pc.and_(mask, m)

        if q.env_id is not None:
            both(pc.equal(table["env_id"], q.env_id))
        if q.task is not None:
            both(pc.starts_with(table["env_id"], q.task))
        if q.success is not None:
            both(pc.equal(table["success"], q.success))
        if q.status is not None:
            both(pc.equal(table["status"], q.status))
        if q.policy_version is not None and "min_policy_version" in table.column_names:
            both(pc.greater_equal(table["min_policy_version"], q.policy_version))
        if q.since is not None:
            both(pc.greater_equal(table["created_at"], q.since))
        if q.until is not None:
            both(pc.less(table["created_at"], q.until))
        if q.ids is not None:
            both(pc.is_in(table["id"], pa.array(q.ids)))
        return table if mask is None else table.filter(mask)

    def rows(self, q: Query | None = None) -> Iterator[dict[str, Any]]:
        """Stream rows (without images), part by part, so stores larger than memory can be read."""
        q = q or Query()
        for path in self.parts(q.run, q.iteration):
            table = self._read_part(path, q)
            if table is None:
                continue
            for row in table.to_pylist():
                try:
                    yield migrate_row(row)
                except StoreError as e:
                    self.errors.append(f"{path}: {e}")

    def load_images(self, refs: Iterable[str]) -> dict[str, np.ndarray]:
        out = {}
        for ref in refs:
            p = self.image_path(ref)
            if not p.exists():
                raise StoreError(f"image {ref} is missing ({p})")
            out[ref] = decode_png(p.read_bytes())
        return out

    def query(self, q: Query | None = None, with_images: bool = True) -> Iterator[Trajectory]:
        for row in self.rows(q):
            refs = {r for t in row["turns"] for r in t["image_refs"]}
            try:
                images = self.load_images(refs) if with_images else {}
            except StoreError as e:
                self.errors.append(f"trajectory {row['id']}: {e}")
                continue
            yield from_row(row, images)

    def count(self, q: Query | None = None) -> int:
        return sum(1 for _ in self.rows(q))

    # -- maintenance -----------------------------------------------------------------------------------
    def write_manifest(self, run: str) -> Path:
        """Summary of a run: parts, trajectories and successes per iteration."""
        per_iter: dict[int, dict[str, Any]] = {}
        for row in self.rows(Query(run=run)):
            it = per_iter.setdefault(row["iteration"], {"trajectories": 0, "successes": 0})
            it["trajectories"] += 1
            it["successes"] += int(row["success"])
        manifest = {
            "run": run,
            "parts": [str(p.relative_to(self.root)) for p in self.parts(run)],
            "iterations": {str(k): v for k, v in sorted(per_iter.items())},
            "written_at": time.time(),
        }
        path = self.root / "manifests" / f"{run}.json"
        _atomic_write(path, json.dumps(manifest, indent=2).encode())
        return path

    def gc(self) -> int:
        """Remove temporary files left by killed writers; returns how many."""
        n = 0
        for p in self.root.rglob(".tmp-*"):
            p.unlink(missing_ok=True)
            n += 1
        return n


class StoreWriter:
    """Buffers trajectories and commits them in parts of `flush_every` (and on `flush`/`close`)."""

    def __init__(
        self, store: TrajectoryStore, run: str = "default", iteration: int = 0, flush_every: int = 16
    ) -> None:
        self.store, self.run, self.iteration, self.flush_every = store, run, iteration, flush_every
        self._buffer: list[Trajectory] = []
        self.written = 0

    def add(self, traj: Trajectory) -> None:
        self._buffer.append(traj)
        if len(self._buffer) >= self.flush_every:
            self.flush()

    def flush(self) -> None:
        if self._buffer:
            self.store.write(self._buffer, self.run, self.iteration)
            self.written += len(self._buffer)
            self._buffer = []

    def close(self) -> None:
        self.flush()

    def __enter__(self) -> StoreWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
