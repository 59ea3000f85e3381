"""The env side of the side channel: JSON-lines requests to app processes, with deadlines.

`ask_all` sends one request to several apps before reading any answer, so they work in parallel; an app
that does not answer in time is reported as hung, one whose socket closes as crashed (EnvFault either way).
"""

from __future__ import annotations

import json
import socket
import time
from typing import Any

from envs.core.gui_env import EnvFault


class Link:
    def __init__(self, label: str, path: str, timeout_s: float) -> None:
        self.label, self.timeout_s = label, timeout_s
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout_s)
        self.sock.connect(path)
        self._buf = b""

    def send(self, req: dict[str, Any]) -> None:
        try:
            self.sock.sendall(json.dumps(req).encode() + b"\n")
        except OSError as e:
            raise EnvFault(f"app '{self.label}' crashed: its side channel is closed ({e})") from e

    def receive(self, deadline: float) -> dict[str, Any]:
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise EnvFault(
                    f"app '{self.label}' is not responding (no answer within {self.timeout_s:g} s)"
                )
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(1 << 20)
            except TimeoutError:
                continue
            except OSError as e:
                raise EnvFault(f"app '{self.label}' crashed: {e}") from e
            if not chunk:
                raise EnvFault(f"app '{self.label}' crashed: its side channel closed")
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        reply = json.loads(line)
        if not reply.get("ok"):
            raise EnvFault(f"app '{self.label}' failed: {reply.get('error')}")
        return reply

    def ask(self, req: dict[str, Any]) -> dict[str, Any]:
        self.send(req)
        return self.receive(time.monotonic() + self.timeout_s)

    def close(self) -> None:
        self.sock.close()


def ask_all(links: list[Link], req: dict[str, Any], timeout_s: float) -> list[dict[str, Any]]:
    """The same request to every link at once; the answers in the same order."""
    for link in links:
        link.send(req)
    deadline = time.monotonic() + timeout_s
    return [link.receive(deadline) for link in links]
