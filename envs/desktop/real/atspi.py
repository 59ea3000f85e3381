"""The env side of the AT-SPI reader: a helper process under the system Python, one per episode.

Why a helper and not PyGObject in the venv: PyGObject from PyPI builds against the system's GLib and
gobject-introspection development files (a C compiler, libgirepository1.0-dev, cairo headers) and pins
the venv to them; a pure-Python D-Bus client would have to re-implement the AT-SPI cache protocol
(GetItems, the per-object Accessible/Component/Text calls, the a11y bus address lookup). Debian ships
both halves ready: python3-gi and gir1.2-atspi-2.0 under /usr/bin/python3. So `atspi_helper.py` runs there
(no agentrl import), bound to the episode's D-Bus session, and answers JSON lines; the venv never loads
GObject. Cost: one system-Python start per episode (~40 ms) and one pipe round trip per tree (~5-30 ms).
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from envs.core.gui_env import EnvFault
from envs.desktop.procs import kill_group, spawn

HELPER = Path(__file__).with_name("atspi_helper.py")
SYSTEM_PYTHON = "/usr/bin/python3"


@dataclass(frozen=True)
class Node:
    """One accessible object, in screen pixels; `flags` as atspi_helper.py documents them."""

    app: str
    depth: int
    role: str
    name: str
    x: int
    y: int
    w: int
    h: int
    flags: str
    text: str

    @property
    def center(self) -> tuple[int, int]:
        return self.x + self.w // 2, self.y + self.h // 2

    def has(self, flag: str) -> bool:
        return flag in self.flags


@dataclass
class Tree:
    nodes: list[Node]
    pids: dict[str, int]  # app name (AT-SPI) -> pid
    hung: list[str]

    def fingerprint(self) -> int:
        return hash(tuple((n.role, n.name, n.x, n.y, n.w, n.h, n.flags, n.text) for n in self.nodes))


class AtspiReader:
    """`tree()` reads every app on the episode's AT-SPI bus; raises EnvFault when the helper fails."""

    def __init__(self, bus_address: str, display: str, call_timeout_s: float, reply_timeout_s: float) -> None:
        env = {"DBUS_SESSION_BUS_ADDRESS": bus_address, "DISPLAY": display, "PATH": "/usr/bin:/bin",
               "LANG": "C.UTF-8", "HOME": os.environ.get("HOME", "/tmp")}  # fmt: skip
        try:
            self.proc = spawn([SYSTEM_PYTHON, "-I", str(HELPER), str(int(call_timeout_s * 1000))], env,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.PIPE)  # fmt: skip
        except OSError as e:
            raise EnvFault(f"AT-SPI: cannot run {SYSTEM_PYTHON} ({e}); run scripts/setup.sh") from e
        self.reply_timeout_s = reply_timeout_s
        self._buf = b""

    def ask(self, req: dict[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            self.proc.stdin.write(json.dumps(req).encode() + b"\n")
            self.proc.stdin.flush()
        except OSError as e:
            raise EnvFault(f"AT-SPI: the reader is gone ({e})") from e
        deadline = time.monotonic() + self.reply_timeout_s
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise EnvFault(f"AT-SPI: no answer within {self.reply_timeout_s:g} s (an app is hung)")
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                raise EnvFault("AT-SPI: the reader exited (python3-gi and gir1.2-atspi-2.0 installed?)")
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        reply = json.loads(line)
        if not reply.get("ok"):
            raise EnvFault(f"AT-SPI: {reply.get('error')}")
        return reply

    def tree(self, max_text: int = 4000) -> Tree:
        reply = self.ask({"op": "tree", "max_text": max_text})
        nodes = [Node(a["name"], *n) for a in reply["apps"] for n in a["nodes"]]
        return Tree(nodes, {a["name"]: a["pid"] for a in reply["apps"]}, reply["hung"])

    def close(self) -> None:
        kill_group(self.proc, term_timeout_s=0.0)
