"""An app process: connects to the display, then waits on its socket to be told which app to become.

Hosts are started ahead of need (the env keeps spares warm), so an episode's reset only sends `start`
and does not pay for Python and Tk start-up. Requests:

    {"op": "start", "app": "editor", "home": "/tmp/.../home", "init": {...}}  build and show the app
    {"op": "snapshot"}  -> {"ok", "app", "pid", "state", "elements", "errors"}  after processing all input
    {"op": "raise"}     bring the app's windows to the top (the task bar's buttons use it)
"""

from __future__ import annotations

import os
import tkinter as tk
import traceback
from pathlib import Path
from typing import Any

from . import report, style
from .base import App
from .calculator import Calculator
from .channel import ChannelServer
from .editor import Editor
from .files import Files
from .panel import Panel
from .todo import Todo

APPS: dict[str, type[App]] = {cls.name: cls for cls in (Editor, Calculator, Files, Todo, Panel)}


class Host:
    def __init__(self, root: tk.Tk, layout: style.Layout) -> None:
        self.root, self.layout = root, layout
        self.app: App | None = None
        self.errors: list[str] = []
        root.report_callback_exception = self._on_error  # type: ignore[method-assign]

    def _on_error(self, exc: type[BaseException], value: BaseException, tb: Any) -> None:
        self.errors.append("".join(traceback.format_exception(exc, value, tb, limit=4)))

    def handle(self, req: dict[str, Any]) -> dict[str, Any]:
        op = req.get("op")
        if op == "start":
            return self._start(req["app"], Path(req["home"]), req.get("init") or {})
        if self.app is None:
            return {"ok": False, "error": f"'{op}' before 'start'"}
        if op == "snapshot":
            self.app.refresh()
            self.root.update()
            return {"ok": True, "app": self.app.name, "pid": os.getpid(), "state": self.app.state(),
                    "elements": report.collect(self.root), "errors": self.errors[-5:]}  # fmt: skip
        if op == "raise":
            self.app.lift()
            self.root.update()  # the restack reaches the server before the task bar hears back
            return {"ok": True}
        return {"ok": False, "error": f"unknown op {op!r}"}

    def _start(self, name: str, home: Path, init: dict[str, Any]) -> dict[str, Any]:
        if self.app is not None:
            return {"ok": False, "error": f"already running '{self.app.name}'"}
        os.environ["HOME"] = str(home)
        os.chdir(home)
        self.app = APPS[name](self.root, home, init, self.layout)
        self.root.deiconify()
        self.root.update()
        return {"ok": True, "pid": os.getpid()}


def select_all(event: tk.Event) -> str:
    """Ctrl+A selects all in every text field, as on today's desktops (Tk's default is Emacs' line start)."""
    w = event.widget
    if isinstance(w, tk.Text):
        w.tag_add("sel", "1.0", "end-1c")
        w.mark_set("insert", "end-1c")
    else:
        w.select_range(0, "end")
        w.icursor("end")
    return "break"


def run(socket_path: str, width: int, height: int) -> None:
    root = tk.Tk(className="agentrl")
    root.withdraw()
    layout = style.Layout(width, height)
    style.apply(root, layout)
    for cls in ("Entry", "Text"):
        root.bind_class(cls, "<Control-a>", select_all)
    host = Host(root, layout)
    ChannelServer(root, socket_path, host.handle)
    root.mainloop()
