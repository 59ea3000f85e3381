"""App processes: each bundled app runs in its own process group, started ahead of need.

A host is a Python process with Tk already connected to the display, waiting on its socket to be told
which app to become (tkapps/host.py). The pool keeps spares warm while an episode runs, so a reset sends
`start` to ready processes instead of paying ~70 ms of Python and Tk start-up per app; an episode's hosts
are killed (whole process group) when it ends. Every host dies with the env (see procs.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from envs.core.gui_env import EnvFault
from envs.desktop.link import Link
from envs.desktop.procs import kill_group, spawn, wait_until

APPS_PARENT = Path(__file__).resolve().parent  # `tkapps` is importable from here without `envs`


class AppHost:
    def __init__(self, proc: subprocess.Popen[bytes], socket_path: Path, log: Path) -> None:
        self.proc, self.socket_path, self.log = proc, socket_path, log
        self._link: Link | None = None
        self.app = ""

    @property
    def link(self) -> Link:
        if self._link is None:
            raise EnvFault(f"app process {self.pid} is not connected")
        return self._link

    def assign(self, app: str) -> None:
        """This host is to become `app` (names it in fault messages)."""
        self.app = app
        if self._link is not None:
            self._link.label = app

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def connect(self, timeout_s: float) -> Link:
        if self._link is None:
            if not wait_until(lambda: self.socket_path.exists() or not self.alive(), timeout_s):
                raise EnvFault(f"app process {self.pid} did not come up within {timeout_s:g} s")
            if not self.alive():
                raise EnvFault(f"app process {self.pid} exited at start-up: {self.log_tail()}")
            self._link = Link(self.app or f"host {self.pid}", str(self.socket_path), timeout_s)
        return self._link

    def death_note(self) -> str:
        """Why the process is gone, for the truncation reason."""
        code = self.proc.poll()
        if code is None:
            return "running"
        return f"killed by signal {-code}" if code < 0 else f"exited with code {code}"

    def log_tail(self, lines: int = 3) -> str:
        try:
            return " | ".join(self.log.read_text(errors="replace").strip().splitlines()[-lines:])
        except OSError:
            return ""

    def kill(self) -> None:
        if self._link is not None:
            self._link.close()
        kill_group(self.proc, term_timeout_s=0.0)
        for path in (self.socket_path, self.log):
            path.unlink(missing_ok=True)


class HostPool:
    def __init__(self, display: str, chan_dir: Path, screen: tuple[int, int], timeout_s: float) -> None:
        self.display, self.chan_dir, self.screen, self.timeout_s = display, chan_dir, screen, timeout_s
        self.spares: list[AppHost] = []
        self._count = 0

    def spawn(self) -> AppHost:
        self._count += 1
        sock = self.chan_dir / f"host-{self._count}.sock"
        log = self.chan_dir / f"host-{self._count}.log"
        env = {"DISPLAY": self.display, "PYTHONPATH": str(APPS_PARENT), "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
               "LANG": "C.UTF-8", "HOME": str(self.chan_dir)}  # fmt: skip
        argv = [
            sys.executable,
            "-P",
            "-m",
            "tkapps",
            "--socket",
            str(sock),
            "--screen",
            "{}x{}".format(*self.screen),
        ]
        with open(log, "wb") as err:
            proc = spawn(argv, env, cwd=str(self.chan_dir), stderr=err.fileno())
        return AppHost(proc, sock, log)

    def take(self, n: int) -> list[AppHost]:
        """`n` connected hosts: warm spares first, fresh ones for the rest."""
        for dead in [h for h in self.spares if not h.alive()]:
            dead.kill()
            self.spares.remove(dead)
        hosts = self.spares[:n]
        self.spares = self.spares[n:]
        hosts += [self.spawn() for _ in range(n - len(hosts))]
        for host in hosts:
            host.connect(self.timeout_s)
        return hosts

    def prewarm(self, n: int) -> None:
        """Start spares (not waited for) until `n` are on hand."""
        self.spares += [self.spawn() for _ in range(n - len(self.spares))]

    def close(self) -> None:
        for host in self.spares:
            host.kill()
        self.spares = []
