"""A private Xvfb display: started on a free display number, reused across episodes, never leaked.

The display number comes from Xvfb itself (`-displayfd`): the server takes the first number whose lock file
(/tmp/.X<n>-lock) it can create and writes it to a pipe, so two envs starting at once never collide (no
"find a free number, then race for it"). The server runs in its own process group, receives SIGTERM if
the env's thread dies, and is stopped by `close()`, by garbage collection, or at interpreter exit
(`weakref.finalize` runs at exit).
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
import weakref

from envs.core.gui_env import EnvFault
from envs.desktop.procs import kill_group, spawn

XVFB = "Xvfb"


class XServer:
    """One Xvfb process; `display` is ":N" once `start()` returned."""

    def __init__(self, width: int, height: int, xvfb: str = XVFB, start_timeout_s: float = 10.0) -> None:
        self.width, self.height = width, height
        self.xvfb = xvfb
        self.start_timeout_s = start_timeout_s
        self.display = ""
        self._proc: subprocess.Popen[bytes] | None = None
        self._finalizer = weakref.finalize(self, _stop, None)

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def start(self) -> str:
        """Start Xvfb (no-op when running); raise EnvFault with its stderr when it does not come up."""
        if self.alive:
            return self.display
        self.stop()
        if shutil.which(self.xvfb) is None:
            raise EnvFault(f"X server: '{self.xvfb}' not found (install Debian's xvfb: scripts/setup.sh)")
        read_fd, write_fd = os.pipe()
        argv = [self.xvfb, "-displayfd", str(write_fd), "-screen", "0", f"{self.width}x{self.height}x24",
                "-nolisten", "tcp", "-noreset", "-dpi", "96"]  # fmt: skip
        with tempfile.TemporaryFile() as err:
            try:
                proc = spawn(argv, dict(os.environ), death_signal=signal.SIGTERM, pass_fds=(write_fd,),
                             stderr=err.fileno())  # fmt: skip
            except OSError as e:
                os.close(read_fd)
                raise EnvFault(f"X server: cannot run '{self.xvfb}': {e}") from e
            finally:
                os.close(write_fd)
            self._proc = proc
            self._finalizer.detach()
            self._finalizer = weakref.finalize(self, _stop, proc)
            try:
                number = _read_display_number(read_fd, proc, self.start_timeout_s)
            except EnvFault as e:
                self.stop()
                err.seek(0)
                tail = err.read().decode(errors="replace").strip().splitlines()[-3:]
                raise EnvFault(f"{e}{': ' + ' | '.join(tail) if tail else ''}") from None
            finally:
                os.close(read_fd)
        self.display = f":{number}"
        return self.display

    def stop(self) -> None:
        self._finalizer()
        self._proc = None
        self.display = ""


def _read_display_number(fd: int, proc: subprocess.Popen[bytes], timeout_s: float) -> int:
    deadline = time.monotonic() + timeout_s
    data = b""
    while not data.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0:
            raise EnvFault(f"X server: Xvfb gave no display number within {timeout_s:g} s")
        ready, _, _ = select.select([fd], [], [], min(left, 0.05))
        if ready:
            chunk = os.read(fd, 32)
            if not chunk:
                code = proc.wait(timeout=timeout_s)
                raise EnvFault(f"X server: Xvfb failed to start (exit code {code})")
            data += chunk
        elif proc.poll() is not None:
            raise EnvFault(f"X server: Xvfb failed to start (exit code {proc.returncode})")
    return int(data)


def _stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is not None:
        kill_group(proc, term_timeout_s=2.0)
