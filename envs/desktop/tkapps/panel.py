"""The task bar: a strip at the bottom of the screen with one button per open app, which brings it to front.

There is no window manager, so the panel asks the app itself (over the app's side-channel socket) to
raise its windows. The panel is override-redirect, as docks are: the env never gives it keyboard focus.
"""

from __future__ import annotations

import json
import socket
import tkinter as tk
from typing import Any

from .base import App


class Panel(App):
    name = "panel"
    title = "Panel"

    def geometry(self) -> str:
        return self.layout.panel_geometry

    def build(self, init: dict[str, Any]) -> None:
        self.root.overrideredirect(True)
        self.root.configure(bg="#3a4a5c")
        self.sockets: dict[str, str] = {}
        for app in init.get("apps", []):
            self.sockets[app["name"]] = app["socket"]
            tk.Button(self.root, text=app["title"], name=f"show_{app['name']}", bg="#d8dee6",
                      command=lambda n=app["name"]: self.show(n)).pack(side="left", padx=2, pady=2)  # fmt: skip
        self.shown: str | None = None

    def show(self, app: str) -> None:
        """Ask `app` to raise its windows (a hung app just does not come to front)."""
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(1.0)
                s.connect(self.sockets[app])
                s.sendall(json.dumps({"op": "raise"}).encode() + b"\n")
                s.recv(4096)
            self.shown = app
        except OSError:
            pass

    def app_state(self) -> dict[str, Any]:
        return {"apps": list(self.sockets), "last_shown": self.shown}
