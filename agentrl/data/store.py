"""The trajectory store: append-only Parquet parts on local disk or any fsspec URL (`s3://bucket/prefix`,
`gs://`, `memory://`, ...), images inside them, deduplicated by hash.

    ROOT/
      parts/run=<run>/iteration=<k>/part-<time>-<uuid>.parquet   one row per trajectory, plus its new images
      pools/<name>/*.jsonl                                        named id sets (agentrl.data.pools)
      manifests/<run>.json                                        per-run summary, rebuilt from the parts

Commits. A batch of trajectories is one part, and a part that exists is complete: on local disk it is
created by an atomic rename of a finished, fsynced temporary file, so a writer killed mid-write leaves only
a `.tmp-*` file (never read; `gc` removes it) and nothing committed is lost. On an object store a part is
one atomic PUT; on other fsspec filesystems, a temporary renamed into place (agentrl.data.fs has the
protocol). Pools and manifests are committed the same way. Writers never share a file (parts carry a
uuid), so any number of processes or Ray actors may write the same run at once.

Images. Each distinct screenshot (content hash `ref`) is stored once per writer: a part stores the images
its writer has not committed before and points at the earlier part for the others. Parts written by other
writers are not consulted, so two writers may each keep a copy: space, never correctness.

Reading streams part by part (stores larger than memory). A corrupt or truncated part, a schema newer
than this code, or a missing image is reported in `errors` naming the file, and skipped; the rest of the
store stays readable. Parts of older schema versions are upgraded on read (agentrl.data.migrations).

Paths. A local store's `root` and part paths are `Path`s; a remote store's are URL strings.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections import ChainMap, OrderedDict
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from agentrl.data.fs import open_root
from agentrl.data.images import codec as get_codec
from agentrl.data.migrations import SchemaError, upgrade, version_of
from agentrl.data.pools import Pools
from agentrl.data.query import Query
from agentrl.data.schema import (
    HEAD_COLUMNS,
    ROW_COLUMNS,
    SCHEMA,
    SCHEMA_VERSION,
    WRITE_OPTIONS,
    decode_image,
    from_row,
    to_row,
    turns_of,
)
from rollout.trajectory import Trajectory, decode_png

__all__ = ["Query", "StoreError", "StoreWriter", "TrajectoryStore"]

RUN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class StoreError(RuntimeError):
    pass


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0][:160] if text else ''}"


class TrajectoryStore:
    def __init__(
        self,
        root: str | Path,
        image_codec: str = "zstd",
        durable: bool = True,
        dedup_index_size: int = 1_000_000,
        cached_parts: int = 32,
    ) -> None:
        """`durable`: fsync every commit (survives a machine crash, not only a killed process).
        `dedup_index_size`: images this store remembers having written (older ones may be written again).
        `cached_parts`: parts whose images stay in memory while reading.
        `root`: a local path, or an fsspec URL (agentrl.data.fs; `durable` applies to local disk only)."""
        self._fs = open_root(root, durable)
        self.root = self._fs.where()
        get_codec(image_codec)  # unknown codec: fail here, not at the first write
        self.image_codec, self.durable = image_codec, durable
        self.errors: list[str] = []  # problems met while reading, one line each, naming the file
        self.pools = Pools(self._fs.child("pools"))
        self._homes: OrderedDict[str, str] = OrderedDict()  # ref -> part holding it (relative path)
        self._dedup_index_size = dedup_index_size
        self._part_images: OrderedDict[str, dict[str, dict[str, Any]]] = OrderedDict()
        self._cached_parts = cached_parts
        self._fs.makedirs("parts")

    # -- writing -----------------------------------------------------------------------------------------
    def write(
        self, trajectories: list[Trajectory], run: str = "default", iteration: int = 0
    ) -> Path | str | None:
        """Commit a batch as one part; returns its path (None for an empty batch)."""
        if not trajectories:
            return None
        if not RUN_NAME.match(run):
            raise StoreError(f"run name '{run}': use letters, digits, '.', '_' and '-'")
        if iteration < 0:
            raise StoreError(f"iteration must be >= 0, got {iteration}")
        rel = f"parts/run={run}/iteration={iteration}/part-{time.time_ns()}-{uuid.uuid4().hex[:8]}.parquet"
        here: dict[str, str] = {}  # images stored by earlier rows of this part
        rows = []
        for t in trajectories:
            rows.append(to_row(t, run, iteration, ChainMap(here, self._homes), self.image_codec))
            here.update({r: "" for r in t.images if r not in self._homes})
        table = pa.Table.from_pylist(rows, schema=SCHEMA)
        self._fs.write_with(rel, lambda where: pq.write_table(table, where, **WRITE_OPTIONS))
        for ref in here:
            self._homes[ref] = rel
        while len(self._homes) > self._dedup_index_size:
            self._homes.popitem(last=False)
        return self._fs.where(rel)

    # -- reading -----------------------------------------------------------------------------------------
    def parts(self, run: str | None = None, iteration: int | None = None) -> list[Path | str]:
        """Committed parts in (run, iteration, commit time) order."""
        return [self._fs.where(rel) for rel in self._part_names(run, iteration)]

    def _part_names(self, run: str | None = None, iteration: int | None = None) -> list[str]:
        """`parts`, relative to the root."""
        pattern = (
            f"run={run if run is not None else '*'}/iteration={iteration if iteration is not None else '*'}"
        )

        def key(rel: str) -> tuple[str, int, str]:
            _, run_dir, iteration_dir, name = rel.split("/")
            return run_dir, int(iteration_dir.split("=", 1)[1]), name

        return sorted(self._fs.glob(f"parts/{pattern}/part-*.parquet"), key=key)

    def runs(self) -> list[str]:
        return sorted(d.split("=", 1)[1] for d in self._fs.subdirs("parts") if d.startswith("run="))

    def _load(self, rel: str, columns: list[str] | None = None) -> pa.Table | None:
        """A part as a current-schema table (only `columns` when given), or None (reported in `errors`)."""
        path = self._fs.where(rel)
        try:
            with self._fs.source(rel) as source:
                pf = pq.ParquetFile(source)
                version = version_of(pf.schema_arrow)
                if version == SCHEMA_VERSION:
                    return pf.read(columns=columns)
                table = upgrade(pf.read(), version)
            return table if columns is None else table.select(columns)
        except FileNotFoundError:
            self.errors.append(f"{path}: part disappeared while reading")
        except SchemaError as e:
            self.errors.append(f"{path}: {e}")
        except Exception as e:  # corrupt or truncated: name it, keep going
            self.errors.append(f"{path}: unreadable part ({_first_line(e)})")
        return None

    def _resolve_ids(self, q: Query) -> set[str] | None:
        ids = None if q.ids is None else set(q.ids)
        if q.pool is not None:
            members = self.pools.ids(q.pool)
            ids = members if ids is None else ids & members
        return ids

    def tables(
        self, q: Query | None = None, columns: list[str] | None = None
    ) -> Iterator[tuple[Path | str, pa.Table]]:
        """Matching rows part by part, as Arrow tables of `columns` (all but image bytes when None)."""
        q = q or Query()
        ids = self._resolve_ids(q)
        wanted = list(columns or ROW_COLUMNS)
        read = wanted + sorted(q.columns() - set(wanted))
        for rel in self._part_names(q.run, q.iteration):
            table = self._load(rel, read)
            if table is None:
                continue
            mask = q.mask(table, ids)
            table = (table if mask is None else table.filter(mask)).select(wanted)
            if table.num_rows:
                yield self._fs.where(rel), table

    def rows(self, q: Query | None = None) -> Iterator[dict[str, Any]]:
        """Matching rows as dicts, without images."""
        for _, table in self.tables(q):
            yield from table.to_pylist()

    def count(self, q: Query | None = None) -> int:
        return sum(t.num_rows for _, t in self.tables(q, ["id"]))

    def query(self, q: Query | None = None, with_images: bool = True) -> Iterator[Trajectory]:
        """Stream matching trajectories. One whose images cannot be read is skipped and reported."""
        q = q or Query()
        ids = self._resolve_ids(q)
        for rel in self._part_names(q.run, q.iteration):
            table = self._load(rel, None if with_images else ROW_COLUMNS)
            if table is None:
                continue
            path = self._fs.where(rel)
            mask = q.mask(table, ids)
            selected = table if mask is None else table.filter(mask)
            rows = selected.select(HEAD_COLUMNS).to_pylist()
            local = None
            for row, turns in zip(rows, turns_of(selected["turns"])):
                images: dict[str, np.ndarray] = {}
                if with_images:
                    if local is None:  # images stored in this part, by any of its rows
                        local = _image_entries(table)
                    try:
                        images = self._images(row, path, local)
                    except StoreError as e:
                        self.errors.append(f"{path}: trajectory {row['id']}: {e}")
                        continue
                yield from_row(row, images, turns)

    def get(self, id_or_prefix: str) -> Trajectory:
        """The one trajectory whose id starts with `id_or_prefix` (StoreError if none or several)."""
        matches: list[str] = []
        for _, table in self.tables(columns=["id"]):
            matches += [i for i in table["id"].to_pylist() if i.startswith(id_or_prefix)]
        if len(matches) != 1:
            what = "no trajectory" if not matches else f"{len(matches)} trajectories"
            raise StoreError(f"{what} in {self.root} with an id starting '{id_or_prefix}'")
        found = list(self.query(Query(ids=matches)))
        if not found:
            raise StoreError(f"trajectory {matches[0]}: {self.errors[-1] if self.errors else 'unreadable'}")
        return found[0]

    # -- images ------------------------------------------------------------------------------------------
    def _images(
        self, row: dict[str, Any], path: Path | str, local: dict[str, dict[str, Any]]
    ) -> dict[str, np.ndarray]:
        out = {}
        for loc in row["images"]:
            ref, file = loc["ref"], loc["file"]
            if file == "":
                entry = local.get(ref)
                where = path
            elif file.endswith(".png"):  # schema v0/v1: one PNG file per image
                out[ref] = self._legacy_png(file)
                continue
            else:
                entry = self._other_part(file).get(ref)
                where = self._fs.where(file)
            if entry is None:
                raise StoreError(f"image {ref} is missing from {where}")
            try:
                out[ref] = decode_image(entry)
            except Exception as e:
                raise StoreError(f"image {ref} in {where} does not decode ({_first_line(e)})") from None
        return out

    def _legacy_png(self, rel: str) -> np.ndarray:
        path = self._fs.where(rel)
        try:
            return decode_png(self._fs.read_bytes(rel))
        except FileNotFoundError:
            raise StoreError(f"image file {path} is missing") from None
        except Exception as e:
            raise StoreError(f"image file {path} does not decode ({_first_line(e)})") from None

    def _other_part(self, rel: str) -> dict[str, dict[str, Any]]:
        if rel in self._part_images:
            self._part_images.move_to_end(rel)
            return self._part_images[rel]
        path = self._fs.where(rel)
        if not self._fs.exists(rel):
            raise StoreError(f"image part {path} is missing")
        n_errors = len(self.errors)
        table = self._load(rel, ["image_data"])
        if table is None:
            reason = self.errors.pop() if len(self.errors) > n_errors else f"{path}: unreadable"
            raise StoreError(f"image part {reason}")
        entries = _image_entries(table)
        self._part_images[rel] = entries
        if len(self._part_images) > self._cached_parts:
            self._part_images.popitem(last=False)
        return entries

    # -- maintenance -------------------------------------------------------------------------------------
    def write_manifest(self, run: str) -> Path | str:
        """Summary of a run (parts, and trajectories and successes per iteration and env id), rebuilt."""
        per_iter: dict[int, dict[str, Any]] = {}
        for _, table in self.tables(Query(run=run), ["iteration", "env_id", "success"]):
            for it, env_id, ok in zip(*(table[c].to_pylist() for c in ("iteration", "env_id", "success"))):
                entry = per_iter.setdefault(it, {"trajectories": 0, "successes": 0, "env_ids": {}})
                entry["trajectories"] += 1
                entry["successes"] += int(ok)
                entry["env_ids"][env_id] = entry["env_ids"].get(env_id, 0) + 1
        manifest = {
            "run": run,
            "schema_version": SCHEMA_VERSION,
            "parts": self._part_names(run),
            "iterations": {str(k): v for k, v in sorted(per_iter.items())},
            "written_at": time.time(),
        }
        rel = f"manifests/{run}.json"
        self._fs.write(rel, json.dumps(manifest, indent=2).encode())
        return self._fs.where(rel)

    def gc(self, min_age_s: float = 3600.0) -> int:
        """Remove temporary files left by killed writers (older than `min_age_s`); returns how many."""
        return self._fs.remove_stale_temps(min_age_s)


def _image_entries(table: pa.Table) -> dict[str, dict[str, Any]]:
    """ref -> stored image entry (codec, shape, bytes), for every image stored in a part's rows.

    The bytes are zero-copy slices of the Arrow column (decoding copies them out)."""
    out: dict[str, dict[str, Any]] = {}
    for chunk in table["image_data"].chunks:
        refs, codecs, shapes, data = chunk.flatten().flatten()  # the list's values, then the struct's fields
        _, offsets_buf, values_buf = data.buffers()
        offsets = np.frombuffer(offsets_buf, np.int32)[data.offset : data.offset + len(data) + 1]
        values = np.frombuffer(values_buf, np.uint8) if values_buf is not None else np.empty(0, np.uint8)
        for i, (ref, name, shape) in enumerate(zip(refs.to_pylist(), codecs.to_pylist(), shapes.to_pylist())):
            out[ref] = {"codec": name, "shape": shape, "data": values[offsets[i] : offsets[i + 1]]}
    return out


class StoreWriter:
    """Buffers trajectories and commits them as one part.

    A commit happens when `flush_every` trajectories are buffered, when the oldest buffered one has waited
    `max_wait_s` (checked as trajectories arrive), and on `flush`/`close`. Larger parts read faster (a
    part costs ~1.5 ms to open whatever its size); buffered trajectories are not yet committed.
    """

    def __init__(
        self,
        store: TrajectoryStore,
        run: str = "default",
        iteration: int = 0,
        flush_every: int = 64,
        max_wait_s: float = 30.0,
    ) -> None:
        self.store, self.run, self.iteration = store, run, iteration
        self.flush_every, self.max_wait_s = flush_every, max_wait_s
        self._buffer: list[Trajectory] = []
        self._oldest = 0.0
        self.written = 0

    def add(self, traj: Trajectory) -> list[Trajectory]:
        """Buffer one trajectory; returns the trajectories this call committed (often none)."""
        if not self._buffer:
            self._oldest = time.monotonic()
        self._buffer.append(traj)
        full = len(self._buffer) >= self.flush_every
        return self.flush() if full or time.monotonic() - self._oldest >= self.max_wait_s else []

    def add_all(self, trajectories: Iterable[Trajectory]) -> list[Trajectory]:
        return [c for t in trajectories for c in self.add(t)]

    def flush(self) -> list[Trajectory]:
        """Commit the buffer; returns what was committed."""
        batch = self._buffer
        if batch:
            self.store.write(batch, self.run, self.iteration)  # on failure the buffer is kept
            self._buffer = []
            self.written += len(batch)
        return batch

    def close(self) -> list[Trajectory]:
        return self.flush()

    def __enter__(self) -> StoreWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
