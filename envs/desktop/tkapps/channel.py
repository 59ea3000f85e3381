"""The app side of the side channel: JSON-lines requests on a Unix socket, answered from Tk's event loop.

Requests are served by Tk file handlers, so a request is handled between two X events, never during one.
A `snapshot` handler calls `update()` first: Tk then processes every X event already queued for the app
(the env sends input, waits for the X server to process it, then asks), redraws, and syncs with the
server, so the answer describes the screen as it is after the input.
"""

from __future__ import annotations

import json
import os
import socket
import tkinter as tk
import traceback
from collections.abc import Callable
from typing import Any

Handler = Callable[[dict[str, Any]], dict[str, Any]]


class ChannelServer:
    def __init__(self, root: tk.Misc, path: str, handler: Handler) -> None:
        self.root, self.path, self.handler = root, path, handler
        self._buffers: dict[int, bytes] = {}
        self._conns: dict[int, socket.socket] = {}
        tmp = f"{path}.{os.getpid()}.tmp"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(tmp)
        self.sock.listen(8)
        os.replace(tmp, path)  # the path appears only once the socket accepts connections
        root.tk.createfilehandler(self.sock, tk.READABLE, self._accept)

    def _accept(self, _sock: Any, _mask: int) -> None:
        conn, _ = self.sock.accept()
        conn.settimeout(5.0)
        self._conns[conn.fileno()] = conn
        self._buffers[conn.fileno()] = b""
        self.root.tk.createfilehandler(conn, tk.READABLE, self._read)

    def _read(self, conn: socket.socket, _mask: int) -> None:
        fd = conn.fileno()
        try:
            data = conn.recv(65536)
        except OSError:
            data = b""
        if not data:
            self._drop(conn)
            return
        self._buffers[fd] += data
        while b"\n" in self._buffers.get(fd, b""):
            line, self._buffers[fd] = self._buffers[fd].split(b"\n", 1)
            reply = self._handle(line)
            try:
                conn.sendall(json.dumps(reply).encode() + b"\n")
            except OSError:
                self._drop(conn)
                return

    def _handle(self, line: bytes) -> dict[str, Any]:
        try:
            return self.handler(json.loads(line))
        except Exception as e:  # an app bug must reach the env as an answer, not kill the channel
            return {"ok": False, "error": f"{type(e).__name__}: {e}", "trace": traceback.format_exc(limit=4)}

    def _drop(self, conn: socket.socket) -> None:
        fd = conn.fileno()
        self.root.tk.deletefilehandler(conn)
        self._conns.pop(fd, None)
        self._buffers.pop(fd, None)
        conn.close()
