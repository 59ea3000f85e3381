"""Where a store lives: a local directory, or any fsspec URL (`s3://bucket/prefix`, `gs://`, `az://`,
`memory://`, `sftp://`, ...). `open_root` gives the few operations the store needs, on POSIX paths relative
to the root (`parts/run=a/iteration=0/part-1-ab.parquet`).

Plain paths and `file://` URLs are local directories (`LocalRoot`: pathlib and agentrl.data.atomic). Any
other URL is resolved with `fsspec.core.url_to_fs` (`RemoteRoot`); its filesystem package must be installed
(s3fs for s3://, gcsfs for gs://, adlfs for az://). Credentials and endpoints come from fsspec's config or
the service's usual environment: `FSSPEC_S3_ENDPOINT_URL=http://host:port` (fsspec's `FSSPEC_<PROTOCOL>_<OPTION>`
variables), or `AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` (read by botocore).

Commits: a file under its final name is always complete.
- local: a temporary file beside the target, fsynced, renamed into place (agentrl.data.atomic).
- object stores (s3, gcs, azure, memory): the whole file is assembled in memory (parts are batch-sized) and
  sent as one object, `fs.pipe_file`. The service makes an object PUT (and a multipart upload, which it
  completes in one step) atomic: readers see the whole object or none, and a writer killed mid-upload leaves
  nothing visible (an unfinished multipart upload is reclaimed by the bucket's lifecycle rule, not `gc`).
  Durability is then the service's; there is no fsync.
- other filesystems that rename (sftp, hdfs, ...): the bytes go to a `.tmp-*` name beside the target, then
  `fs.mv` renames it into place; a killed writer leaves only the temporary, which readers never match and
  `remove_stale_temps` deletes once it is old.

Listings never use fsspec's directory cache, so a reader sees parts other processes committed since.
"""

from __future__ import annotations

import fnmatch
import io
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import IO, Annotated, Any

import fsspec
from fsspec.core import url_to_fs
from fsspec.implementations.local import LocalFileSystem
from fsspec.utils import get_protocol
from pydantic import AfterValidator

from agentrl.data.atomic import TEMP_PREFIX, atomic_write, atomic_write_with, remove_stale_temps

# A single PUT of an object is atomic on these (readers see all of it or none); elsewhere: temp + rename.
ATOMIC_PUT = frozenset({"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "memory"})


class StoreURLError(ValueError):
    pass


def _is_url(root: str) -> bool:
    return "://" in root or "::" in root


def check_store_url(root: str) -> str:
    """`root` itself when its protocol(s) can be opened here; else StoreURLError, one line (no I/O done)."""
    if not _is_url(root):
        return root
    for link in root.split("::"):
        protocol = get_protocol(link)
        try:
            fsspec.get_filesystem_class(protocol)
        except ValueError:
            raise StoreURLError(f"unknown storage protocol '{protocol}://'") from None
        except ImportError as e:  # e.g. "Install s3fs to access S3"
            raise StoreURLError(f"protocol '{protocol}://': {str(e).strip().splitlines()[0]}") from None
    return root


# A config field holding a store root: a path or an fsspec URL, checked when the config is loaded.
StoreURL = Annotated[str, AfterValidator(check_store_url)]


def open_root(root: str | Path, durable: bool = True) -> LocalRoot | RemoteRoot:
    """A local directory for a plain path or `file://` URL, else the fsspec filesystem the URL names."""
    if isinstance(root, Path) or not _is_url(root):
        return LocalRoot(Path(root), durable)
    try:
        check_store_url(root)
    except StoreURLError as e:
        raise StoreURLError(f"'{root}': {e}") from None
    fs, path = url_to_fs(root)
    if isinstance(fs, LocalFileSystem):
        return LocalRoot(Path(path), durable)
    return RemoteRoot(fs, path.rstrip("/"))


def _matches(rel: str, pattern: str) -> bool:
    """Glob match component by component (`*` never spans a '/')."""
    parts, pats = rel.split("/"), pattern.split("/")
    return len(parts) == len(pats) and all(fnmatch.fnmatchcase(p, q) for p, q in zip(parts, pats))


class LocalRoot:
    """A store root on local disk: pathlib, with commits by fsync and atomic rename."""

    def __init__(self, root: Path, durable: bool = True) -> None:
        self.root, self.durable = root, durable

    def where(self, rel: str = "") -> Path:
        """The full location of `rel`, as shown to users and in errors."""
        return self.root / rel if rel else self.root

    def child(self, rel: str) -> LocalRoot:
        return LocalRoot(self.root / rel, self.durable)

    def makedirs(self, rel: str) -> None:
        (self.root / rel).mkdir(parents=True, exist_ok=True)

    def glob(self, pattern: str) -> list[str]:
        return [p.relative_to(self.root).as_posix() for p in self.root.glob(pattern)]

    def subdirs(self, rel: str = "") -> list[str]:
        d = self.root / rel
        return [p.name for p in d.iterdir() if p.is_dir()] if d.is_dir() else []

    def exists(self, rel: str) -> bool:
        return (self.root / rel).exists()

    def is_dir(self, rel: str) -> bool:
        return (self.root / rel).is_dir()

    def read_bytes(self, rel: str) -> bytes:
        return (self.root / rel).read_bytes()

    @contextmanager
    def source(self, rel: str) -> Iterator[Path]:
        """What pyarrow reads `rel` from: the path itself (pyarrow's own file reader)."""
        yield self.root / rel

    def write(self, rel: str, data: bytes) -> None:
        atomic_write(self.root / rel, data, self.durable)

    def write_with(self, rel: str, write: Callable[[Any], None]) -> None:
        """`write(tmp)` fills a temporary path (e.g. a Parquet writer), then it is committed as `rel`."""
        atomic_write_with(self.root / rel, write, self.durable)

    def remove(self, rel: str) -> None:
        (self.root / rel).unlink(missing_ok=True)

    def remove_stale_temps(self, min_age_s: float) -> int:
        return remove_stale_temps(self.root, min_age_s)


class RemoteRoot:
    """A store root on an fsspec filesystem: one atomic PUT per file on object stores, else temp + `fs.mv`."""

    def __init__(self, fs: fsspec.AbstractFileSystem, path: str) -> None:
        self.fs, self.path = fs, path
        protocols = fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,)
        self.atomic_put = bool(ATOMIC_PUT.intersection(protocols))

    def _full(self, rel: str) -> str:
        return f"{self.path}/{rel}" if rel else self.path

    def where(self, rel: str = "") -> str:
        return self.fs.unstrip_protocol(self._full(rel))

    def child(self, rel: str) -> RemoteRoot:
        return RemoteRoot(self.fs, self._full(rel))

    def makedirs(self, rel: str) -> None:
        """Object stores have no directories (and s3fs would create a missing bucket): nothing to do there."""
        if not self.atomic_put:
            self.fs.makedirs(self._full(rel), exist_ok=True)

    def _files(self, rel: str = "") -> list[str]:
        """Every file below `rel`, relative to the root: one fresh recursive listing (no cached directories)."""
        base = self._full(rel)
        self.fs.invalidate_cache(base)
        try:
            found = self.fs.find(base, withdirs=False)
        except FileNotFoundError:
            return []
        return [p[len(self.path) + 1 :] for p in found]

    def glob(self, pattern: str) -> list[str]:
        static = []  # the leading components without wildcards: list only below them
        for part in pattern.split("/")[:-1]:
            if any(c in part for c in "*?["):
                break
            static.append(part)
        return [r for r in self._files("/".join(static)) if _matches(r, pattern)]

    def subdirs(self, rel: str = "") -> list[str]:
        prefix = f"{rel}/" if rel else ""
        below = (r[len(prefix) :] for r in self._files(rel))
        return sorted({r.split("/", 1)[0] for r in below if "/" in r})

    def exists(self, rel: str) -> bool:
        return self.fs.exists(self._full(rel))

    def is_dir(self, rel: str) -> bool:
        return self.fs.isdir(self._full(rel))

    def read_bytes(self, rel: str) -> bytes:
        return self.fs.cat_file(self._full(rel))

    @contextmanager
    def source(self, rel: str) -> Iterator[IO[bytes]]:
        """What pyarrow reads `rel` from: a random-access file of the filesystem (ranged reads)."""
        with self.fs.open(self._full(rel), "rb") as f:
            yield f

    def write(self, rel: str, data: bytes) -> None:
        final = self._full(rel)
        if self.atomic_put:
            self.fs.pipe_file(final, data)
            return
        parent, name = final.rsplit("/", 1)
        tmp = f"{parent}/{TEMP_PREFIX}{uuid.uuid4().hex}-{name}"
        self.fs.makedirs(parent, exist_ok=True)
        try:
            self.fs.pipe_file(tmp, data)
            self.fs.mv(tmp, final)
        finally:
            if self.fs.exists(tmp):
                self.fs.rm_file(tmp)

    def write_with(self, rel: str, write: Callable[[Any], None]) -> None:
        """`write(buffer)` fills an in-memory file, which is then committed as `rel` (see `write`)."""
        buffer = io.BytesIO()
        write(buffer)
        self.write(rel, buffer.getvalue())

    def remove(self, rel: str) -> None:
        with suppress(FileNotFoundError):
            self.fs.rm_file(self._full(rel))

    def remove_stale_temps(self, min_age_s: float) -> int:
        """Delete `.tmp-*` files older than `min_age_s` (left by killed writers); returns how many.

        Only filesystems that commit by rename leave them; a file whose age the filesystem cannot tell is kept.
        """
        now, n = time.time(), 0
        for rel in self._files():
            if not PurePosixPath(rel).name.startswith(TEMP_PREFIX):
                continue
            try:
                modified: datetime = self.fs.modified(self._full(rel))
                if now - modified.timestamp() >= min_age_s:
                    self.fs.rm_file(self._full(rel))
                    n += 1
            except (FileNotFoundError, NotImplementedError):  # committed meanwhile, or age unknown
                continue
        return n


Root = LocalRoot | RemoteRoot
