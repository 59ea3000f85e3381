"""Editor: a plain-text editor with File (New, Open..., Save, Save As...), Edit and Options menus.

Keyboard shortcuts as in common editors: Ctrl+N/O/S, Ctrl+Shift+S, Ctrl+A selects all. Settings (word
wrap, text size) live in ~/.editor.json, read at start and written when changed through the menu.
"""

from __future__ import annotations

import json
import tkinter as tk
from pathlib import Path
from typing import Any

from . import report
from .base import App
from .dialogs import FileDialog
from .spec import EDITOR_SETTINGS_FILE, TEXT_SIZES


class Editor(App):
    name = "editor"
    title = "Editor"

    def build(self, init: dict[str, Any]) -> None:
        self.path: Path | None = None
        settings = self._load_settings()
        self.wrap = tk.BooleanVar(self.root, value=bool(settings.get("wrap", False)), name="wrap")
        self.size = tk.StringVar(self.root, value=str(settings.get("size", "normal")), name="size")
        bar = self.menubar(self.root)
        m = self.menu(bar, "File")
        m.add_command(label="New", accelerator="Ctrl+N", command=self.new)
        m.add_command(label="Open...", accelerator="Ctrl+O", command=self.ask_open)
        m.add_command(label="Save", accelerator="Ctrl+S", command=self.save)
        m.add_command(label="Save As...", command=self.ask_save)
        m = self.menu(bar, "Edit")
        m.add_command(label="Select All", accelerator="Ctrl+A", command=self.select_all)
        m.add_command(label="Delete All", command=lambda: self.text.delete("1.0", "end"))
        m = self.menu(bar, "Options")
        m.add_checkbutton(label="Word wrap", variable=self.wrap, command=self.apply_settings)
        m.add_separator()
        for size in TEXT_SIZES:
            m.add_radiobutton(label=f"{size.capitalize()} text", variable=self.size, value=size,
                              command=self.apply_settings)  # fmt: skip
        self.caption = tk.Label(bar, name="filename", anchor="e")
        self.caption.pack(side="right", padx=4)
        self.font = ("DejaVu Sans Mono", -self.layout.font_px)
        self.text = tk.Text(self.root, name="text", undo=True, font=self.font, width=1, height=1)
        self.text.pack(fill="both", expand=True)
        report.label(self.text, "Document")
        # Tk's Text has Emacs bindings for Ctrl+N/O; the editor's own tag comes first and stops them.
        self.text.bindtags(("EditorKeys", *self.text.bindtags()))
        for seq, command in (("<Control-n>", self.new), ("<Control-o>", self.ask_open), ("<Control-s>", self.save),
                             ("<Control-S>", self.ask_save)):  # fmt: skip
            handler = (lambda c: lambda _e: (c(), "break")[1])(command)
            self.root.bind_class("EditorKeys", seq, handler)
            self.root.bind_all(seq, handler)
        self.text.bind("<<Modified>>", lambda _e: self._update_caption())
        self.apply_settings(save=False)
        if init.get("open"):
            self.load(self.home / init["open"])
        self._update_caption()

    # -- file operations -------------------------------------------------------------------------------
    def new(self) -> None:
        self.path = None
        self.text.delete("1.0", "end")
        self.text.edit_modified(False)
        self._update_caption()

    def load(self, path: Path) -> str | None:
        try:
            content = path.read_text()
        except (OSError, UnicodeDecodeError) as e:
            return f"Cannot open {path.name}: {e.__class__.__name__}"
        self.text.delete("1.0", "end")
        self.text.insert("1.0", content)
        self.text.edit_reset()
        self.text.edit_modified(False)
        self.text.mark_set("insert", "1.0")
        self.path = path
        self._update_caption()
        return None

    def write(self, path: Path) -> str | None:
        try:
            path.write_text(self.text.get("1.0", "end-1c"))
        except OSError as e:
            return f"Cannot save {path.name}: {e.__class__.__name__}"
        self.path = path
        self.text.edit_modified(False)
        self._update_caption()
        return None

    def save(self) -> None:
        if self.dialog is not None:
            return
        if self.path is None:
            self.ask_save()
        else:
            self.write(self.path)

    def ask_open(self) -> None:
        if self.dialog is None:
            FileDialog(self, "open", self.load, self.path.parent if self.path else self.home)

    def ask_save(self) -> None:
        if self.dialog is None:
            dialog = FileDialog(self, "save", self.write, self.path.parent if self.path else self.home)
            if self.path is not None:
                dialog.entry.insert(0, self.path.name)

    def select_all(self) -> None:
        self.text.focus_set()
        self.text.tag_add("sel", "1.0", "end-1c")
        self.text.mark_set("insert", "end-1c")

    # -- settings --------------------------------------------------------------------------------------
    def _load_settings(self) -> dict[str, Any]:
        try:
            return json.loads((self.home / EDITOR_SETTINGS_FILE).read_text())
        except (OSError, ValueError):
            return {}

    def apply_settings(self, save: bool = True) -> None:
        self.text.configure(wrap="word" if self.wrap.get() else "none",
                            font=(self.font[0], round(self.font[1] * TEXT_SIZES[self.size.get()])))  # fmt: skip
        if save:
            settings = {"wrap": self.wrap.get(), "size": self.size.get()}
            (self.home / EDITOR_SETTINGS_FILE).write_text(json.dumps(settings))

    def _update_caption(self) -> None:
        name = self.path.name if self.path else "untitled"
        self.caption.configure(text=name + ("*" if self.text.edit_modified() else ""))

    def app_state(self) -> dict[str, Any]:
        return {"path": self.rel(self.path) if self.path else None, "text": self.text.get("1.0", "end-1c"),
                "modified": bool(self.text.edit_modified()), "wrap": self.wrap.get(), "size": self.size.get(),
                "at_end": self.text.compare("insert", ">=", "end-1c"), "top_line": int(self.text.index("@0,0").split(".")[0])}  # fmt: skip
