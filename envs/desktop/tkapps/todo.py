"""To-do: a to-do list with menus, saved to ~/.todo.json after every change.

Type in the field and press Add (or Enter); tick an item's box to mark it done; its "x" removes it.
File > Clear Completed removes done items; View has Hide Completed, Sort A-Z and the Light/Dark theme.
"""

from __future__ import annotations

import json
import tkinter as tk
from typing import Any

from . import report, style
from .base import App
from .spec import THEMES, TODO_FILE


class Todo(App):
    name = "todo"
    title = "To-do"

    def build(self, init: dict[str, Any]) -> None:
        data = self._load()
        self.items: list[dict[str, Any]] = [
            {"text": str(i["text"]), "done": bool(i.get("done", False))} for i in data.get("items", [])
        ]
        self.theme = tk.StringVar(self.root, value=data.get("theme", "light"), name="theme")
        self.hide_done = tk.BooleanVar(self.root, value=bool(data.get("hide_done", False)), name="hide_done")
        bar = self.menubar(self.root)
        m = self.menu(bar, "File")
        m.add_command(label="Clear Completed", command=self.clear_completed)
        m = self.menu(bar, "View")
        m.add_checkbutton(label="Hide Completed", variable=self.hide_done, command=self.changed)
        m.add_command(label="Sort A-Z", command=self.sort)
        m.add_separator()
        for theme in THEMES:
            m.add_radiobutton(label=f"{theme.capitalize()} Theme", variable=self.theme, value=theme,
                              command=self.changed)  # fmt: skip
        row = tk.Frame(self.root, name="newrow")
        row.pack(side="top", fill="x", pady=2)
        self.entry = tk.Entry(row, name="new_item")
        self.entry.pack(side="left", fill="x", expand=True, padx=2)
        report.label(self.entry, "New item")
        self.entry.bind("<Return>", lambda _e: self.add())
        tk.Button(row, text="Add", name="add", command=self.add).pack(side="right", padx=2)
        self.list = tk.Frame(self.root, name="items")
        self.list.pack(side="top", fill="both", expand=True, padx=2)
        self.count = tk.Label(self.root, name="count", anchor="w")
        self.count.pack(side="bottom", fill="x")
        self.render()

    def _load(self) -> dict[str, Any]:
        try:
            return json.loads((self.home / TODO_FILE).read_text())
        except (OSError, ValueError):
            return {}

    def changed(self) -> None:
        data = {"items": self.items, "theme": self.theme.get(), "hide_done": self.hide_done.get()}
        (self.home / TODO_FILE).write_text(json.dumps(data, indent=1))
        self.render()

    def render(self) -> None:
        for child in list(self.list.winfo_children()):
            child.destroy()
        for i, item in enumerate(self.items):
            if item["done"] and self.hide_done.get():
                continue
            row = tk.Frame(self.list, name=f"row{i}")
            row.pack(side="top", fill="x")
            var = tk.BooleanVar(row, value=item["done"])
            tk.Checkbutton(row, text=item["text"], variable=var, name="check", anchor="w",
                           command=lambda i=i, v=var: self.mark(i, v.get())).pack(side="left", fill="x", expand=True)  # fmt: skip
            tk.Button(row, text="x", name="remove", command=lambda i=i: self.remove(i)).pack(side="right")
        left = sum(not i["done"] for i in self.items)
        self.count.configure(text=f"{left} of {len(self.items)} left")
        style.paint(self.root, self.theme.get())

    # -- operations ------------------------------------------------------------------------------------
    def add(self) -> None:
        text = " ".join(self.entry.get().split())
        if text:
            self.items.append({"text": text, "done": False})
            self.entry.delete(0, "end")
            self.changed()

    def mark(self, index: int, done: bool) -> None:
        self.items[index]["done"] = done
        self.changed()

    def remove(self, index: int) -> None:
        del self.items[index]
        self.changed()

    def clear_completed(self) -> None:
        self.items = [i for i in self.items if not i["done"]]
        self.changed()

    def sort(self) -> None:
        self.items.sort(key=lambda i: i["text"].lower())
        self.changed()

    def app_state(self) -> dict[str, Any]:
        return {"items": [dict(i) for i in self.items], "theme": self.theme.get(),
                "hide_done": self.hide_done.get(), "new_item": self.entry.get()}  # fmt: skip
