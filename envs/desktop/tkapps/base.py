"""What every bundled app shares: its main window, a menu-bar helper, one open dialog at a time, its state.

Without a window manager nothing decorates or places windows: the main window fills the screen above the
task bar, dialogs are centred over it, and the app raises its own windows when the task bar asks.
"""

from __future__ import annotations

import tkinter as tk
from pathlib import Path
from typing import Any

from . import style


class App:
    name = "app"
    title = "App"

    def __init__(self, root: tk.Tk, home: Path, init: dict[str, Any], layout: style.Layout) -> None:
        self.root, self.home, self.layout = root, home, layout
        self.dialog: Any = None  # the open dialogs.Dialog, if any
        root.title(self.title)
        root.geometry(self.geometry())
        self.build(init)

    # -- for subclasses ---------------------------------------------------------------------------------
    def build(self, init: dict[str, Any]) -> None:
        raise NotImplementedError

    def geometry(self) -> str:
        return self.layout.app_geometry

    def app_state(self) -> dict[str, Any]:
        return {}

    def refresh(self) -> None:
        """Called before every snapshot: pick up outside changes (files the shell made)."""

    # -- shared -----------------------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return {"focus": self.focus_name(), "selection": self.selection(),
                "dialog": self.dialog.describe() if self.dialog else None, **self.app_state()}  # fmt: skip

    def selection(self) -> str:
        """The selected text of the focused text field ('' when none)."""
        try:
            w = self.root.focus_get()
            if isinstance(w, tk.Entry) and w.selection_present():
                return w.get()[w.index("sel.first") : w.index("sel.last")]
            if isinstance(w, tk.Text) and w.tag_ranges("sel"):
                return w.get("sel.first", "sel.last")
        except (KeyError, tk.TclError):
            pass
        return ""

    def focus_name(self) -> str:
        try:
            w = self.root.focus_get()
        except KeyError:  # a Tk-internal widget tkinter does not know
            return ""
        return "" if w is None or w is self.root else w.winfo_name()

    def lift(self) -> None:
        self.root.lift()
        if self.dialog is not None:
            self.dialog.lift()

    def menubar(self, parent: tk.Misc) -> tk.Frame:
        bar = tk.Frame(parent, name="menubar", relief="raised", bd=1)
        bar.pack(side="top", fill="x")
        return bar

    def menu(self, bar: tk.Misc, label: str) -> tk.Menu:
        """A drop-down menu on the menu bar: a menu button named after `label` with its menu."""
        key = label.lower().replace(" ", "_")
        button = tk.Menubutton(bar, text=label, name=f"menu_{key}")
        button.pack(side="left")
        menu = tk.Menu(button, name="items")
        button.configure(menu=menu)
        return menu

    def rel(self, path: Path) -> str:
        """`path` relative to HOME, as the state and the dialogs show it."""
        try:
            return path.resolve().relative_to(self.home.resolve()).as_posix()
        except ValueError:
            return str(path)

    def inside_home(self, path: Path) -> bool:
        try:
            path.resolve().relative_to(self.home.resolve())
        except ValueError:
            return False
        return True
