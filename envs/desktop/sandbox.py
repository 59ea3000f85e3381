"""The env's temporary directories: a fresh HOME per episode and the side channel beside (not inside) it.

    <tmp>/agentrl-desktop-<pid>-<random>/
        home/   the episode's HOME: the apps' and the shell action's working directory; new every reset
        chan/   app sockets and logs: the side channel, which the shell action cannot see (shell.py)

The directory goes when the env closes, at interpreter exit, or, if the process was killed outright, when
the next desktop env starts on the machine and finds its owner's pid gone.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from pathlib import Path

PREFIX = "agentrl-desktop-"


class Sandbox:
    """Created on first use (constructing an env makes no directory); `cleanup()` removes it all."""

    def __init__(self) -> None:
        self._root: Path | None = None
        self._finalizer: weakref.finalize | None = None

    @property
    def root(self) -> Path:
        if self._root is None or not self._root.exists():
            sweep_stale()
            self._root = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-"))
            (self._root / "chan").mkdir()
            self._finalizer = weakref.finalize(self, shutil.rmtree, str(self._root), True)
        return self._root

    @property
    def chan(self) -> Path:
        return self.root / "chan"

    @property
    def home(self) -> Path:
        return self.root / "home"

    def new_home(self) -> Path:
        """An empty HOME for the next episode (the previous one and all it held are deleted)."""
        shutil.rmtree(self.home, ignore_errors=True)
        self.home.mkdir()
        return self.home

    def cleanup(self) -> None:
        if self._finalizer is not None:
            self._finalizer()
        self._root = None

    @property
    def path(self) -> Path | None:
        """The directory, if it exists now (for tests: it must be gone after close)."""
        return self._root


def sweep_stale(tmp: str | None = None) -> list[Path]:
    """Delete sandboxes whose owning process is gone; returns what was removed."""
    removed = []
    for path in Path(tmp or tempfile.gettempdir()).glob(f"{PREFIX}*-*"):
        pid = path.name[len(PREFIX) :].split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
