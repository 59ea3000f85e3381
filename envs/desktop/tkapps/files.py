"""Files: a file manager over the episode's HOME (folders first, hidden files hidden).

Select an entry, then Rename, Delete (asks first) or double-click a folder to open it; Up goes back;
New Folder asks for a name. The listing is re-read before every snapshot, so files that the shell action
or another app created show up as they would in a desktop file manager watching the folder.
"""

from __future__ import annotations

import shutil
import tkinter as tk
from pathlib import Path
from typing import Any

from .base import App
from .dialogs import Confirm, Prompt


def _bad_name(name: str) -> str | None:
    if not name:
        return "Type a name."
    if "/" in name or name in (".", ".."):
        return "A name cannot contain '/'."
    return None


class Files(App):
    name = "files"
    title = "Files"

    def build(self, init: dict[str, Any]) -> None:
        self.cwd = self.home / init.get("folder", "")
        self.entries: list[str] = []
        bar = tk.Frame(self.root, name="toolbar", relief="raised", bd=1)
        bar.pack(side="top", fill="x")
        for name, text, command in (("up", "Up", self.up), ("new_folder", "New Folder", self.ask_new_folder),
                                    ("rename", "Rename", self.ask_rename), ("delete", "Delete", self.ask_delete)):  # fmt: skip
            tk.Button(bar, text=text, name=name, command=command).pack(side="left", padx=1, pady=1)
        self.location = tk.Label(self.root, name="location", anchor="w")
        self.location.pack(side="top", fill="x")
        self.listbox = tk.Listbox(self.root, name="entries", exportselection=False, activestyle="none")
        self.listbox.pack(fill="both", expand=True, padx=2, pady=2)
        self.listbox.bind("<Double-Button-1>", self._activate)
        self.listbox.bind("<Return>", self._activate)
        self.listbox.bind("<Delete>", lambda _e: self.ask_delete())
        self.listbox.bind("<F2>", lambda _e: self.ask_rename())
        self.refresh()

    # -- listing ---------------------------------------------------------------------------------------
    def refresh(self) -> None:
        if not self.cwd.is_dir():  # removed from under us (by the shell): go to the nearest parent left
            while not self.cwd.is_dir() and self.cwd != self.home:
                self.cwd = self.cwd.parent
        children = sorted((p for p in self.cwd.iterdir() if not p.name.startswith(".")), key=lambda p: p.name)
        entries = [p.name + "/" for p in children if p.is_dir()] + [
            p.name for p in children if not p.is_dir()
        ]
        if entries != self.entries:
            selected = self.selected()
            self.entries = entries
            self.listbox.delete(0, "end")
            for e in entries:
                self.listbox.insert("end", e)
            if selected in entries:
                self.listbox.selection_set(entries.index(selected))
        self.location.configure(text="~/" + self.app_folder())

    def app_folder(self) -> str:
        rel = self.rel(self.cwd)
        return "" if rel == "." else rel + "/"

    def selected(self) -> str | None:
        sel = self.listbox.curselection()
        return str(self.listbox.get(sel[0])) if sel else None

    def open_folder(self, folder: Path) -> None:
        self.cwd = folder
        self.entries = []
        self.listbox.selection_clear(0, "end")
        self.refresh()

    def up(self) -> None:
        if self.cwd.resolve() != self.home.resolve():
            self.open_folder(self.cwd.parent)

    def _activate(self, _event: tk.Event) -> None:
        name = self.selected()
        if name and name.endswith("/"):
            self.open_folder(self.cwd / name.rstrip("/"))

    # -- operations ------------------------------------------------------------------------------------
    def ask_new_folder(self) -> None:
        if self.dialog is None:
            Prompt(self, "New Folder", "Folder name:", "", self.new_folder)

    def new_folder(self, name: str) -> str | None:
        if _bad_name(name) or (self.cwd / name).exists():
            return _bad_name(name) or f"'{name}' already exists."
        (self.cwd / name).mkdir()
        self.refresh()
        return None

    def ask_rename(self) -> None:
        name = self.selected()
        if self.dialog is None and name:
            Prompt(
                self,
                "Rename",
                f"New name for {name.rstrip('/')}:",
                name.rstrip("/"),
                lambda new: self.rename(name, new),
            )

    def rename(self, old: str, new: str) -> str | None:
        if _bad_name(new) or (self.cwd / new).exists():
            return _bad_name(new) or f"'{new}' already exists."
        (self.cwd / old.rstrip("/")).rename(self.cwd / new)
        self.refresh()
        self.listbox.selection_set(self.entries.index(new + ("/" if old.endswith("/") else "")))
        return None

    def ask_delete(self) -> None:
        name = self.selected()
        if self.dialog is None and name:
            Confirm(self, "Delete", f"Delete '{name.rstrip('/')}' permanently?", lambda: self.delete(name))

    def delete(self, name: str) -> None:
        path = self.cwd / name.rstrip("/")
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
        self.refresh()

    def app_state(self) -> dict[str, Any]:
        return {"folder": self.app_folder(), "entries": list(self.entries), "selected": self.selected()}
