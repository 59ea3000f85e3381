"""Atomic file creation: write a temporary file beside the target, fsync it, rename it into place.

A file under its final name is therefore always complete: a writer killed at any moment leaves at most a
`.tmp-*` file, which readers never match and `remove_stale_temps` deletes. With `durable=True` the file
and its directory are fsynced, so a committed file also survives a machine crash, not only a process kill.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

TEMP_PREFIX = ".tmp-"


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_path(path: Path, durable: bool = True) -> Iterator[Path]:
    """Yield a temporary path to write `path`'s content to; on success it is renamed to `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{TEMP_PREFIX}{uuid.uuid4().hex}-{path.name}")
    try:
        yield tmp
        if durable:
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
        os.replace(tmp, path)
        if durable:
            fsync_dir(path.parent)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write(path: Path, data: bytes, durable: bool = True) -> None:
    with atomic_path(path, durable) as tmp:
        tmp.write_bytes(data)


def atomic_write_with(path: Path, write: Callable[[Path], None], durable: bool = True) -> None:
    """`write(tmp)` fills the temporary file (e.g. a Parquet writer), then it is committed as `path`."""
    with atomic_path(path, durable) as tmp:
        write(tmp)


def remove_stale_temps(root: Path, min_age_s: float) -> int:
    """Delete `.tmp-*` files older than `min_age_s` (left by killed writers); returns how many.

    Live writers' temporaries are younger than any sensible `min_age_s`, so this is safe to run beside them.
    """
    now, n = time.time(), 0
    for p in root.rglob(f"{TEMP_PREFIX}*"):
        try:
            if now - p.stat().st_mtime >= min_age_s:
                p.unlink()
                n += 1
        except FileNotFoundError:  # committed or removed meanwhile
            continue
    return n
