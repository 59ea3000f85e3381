"""Modal dialogs drawn by the apps themselves: open/save file, ask for a name, confirm.

Each is a top-level window centred over its app's window that grabs the app's input until it closes, as a
desktop toolkit's dialogs do. They are plain Tk widgets, so they report their elements like the apps do.
"""

from __future__ import annotations

import contextlib
import tkinter as tk
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import report


class Dialog(tk.Toplevel):
    kind = "dialog"

    def __init__(
        self, app: Any, title: str, name: str, width_frac: float = 0.9, height_frac: float = 0.8
    ) -> None:
        super().__init__(app.root, name=name, bd=2, relief="raised")
        self.app, self.title_text = app, title
        lay = app.layout
        area_h = lay.height - lay.panel_height
        w, h = int(lay.width * width_frac), int(area_h * height_frac)
        self.geometry(f"{w}x{h}+{(lay.width - w) // 2}+{(area_h - h) // 2}")
        tk.Label(self, text=title, name="title", font="TkHeadingFont", anchor="w").pack(side="top", fill="x")
        self.message = tk.Label(self, text="", name="message", fg="#b00020", anchor="w")
        self.bind("<Map>", self._grab)
        self.bind("<Escape>", lambda _e: self.close())
        app.dialog = self

    def _grab(self, event: tk.Event) -> None:
        if event.widget is self:
            with contextlib.suppress(tk.TclError):  # another grab (a posted menu) is active: no matter
                self.grab_set()

    def buttons(self, *specs: tuple[str, str, Callable[[], None]]) -> tk.Frame:
        row = tk.Frame(self, name="buttons")
        row.pack(side="bottom", fill="x", pady=2)
        for name, text, command in reversed(specs):
            tk.Button(row, text=text, name=name, command=command).pack(side="right", padx=2)
        self.message.pack(side="bottom", fill="x")
        return row

    def fail(self, text: str) -> None:
        self.message.configure(text=text)

    def close(self) -> None:
        self.app.dialog = None
        self.grab_release()
        self.destroy()

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "title": self.title_text, "message": str(self.message.cget("text"))}


class FileDialog(Dialog):
    """Open or Save As: a folder listing (double-click a folder to enter it), a file name field, OK/Cancel."""

    def __init__(self, app: Any, mode: str, on_done: Callable[[Path], str | None], start: Path) -> None:
        assert mode in ("open", "save")
        self.kind = mode
        super().__init__(
            app, "Open File" if mode == "open" else "Save As", name=f"{mode}_dialog", height_frac=0.95
        )
        self.mode, self.on_done, self.cwd = mode, on_done, start
        self.folder = tk.Label(self, name="folder", anchor="w")
        self.folder.pack(side="top", fill="x")
        self.buttons(("ok", "Open" if mode == "open" else "Save", self.ok), ("cancel", "Cancel", self.close))
        row = tk.Frame(self, name="namerow")
        row.pack(side="bottom", fill="x")
        tk.Label(row, text="File name:", name="namelabel").pack(side="left")
        self.entry = tk.Entry(row, name="filename")
        self.entry.pack(side="left", fill="x", expand=True, padx=2)
        report.label(self.entry, "File name")
        self.entry.bind("<Return>", lambda _e: self.ok())
        self.listbox = tk.Listbox(self, name="files", exportselection=False, activestyle="none")
        self.listbox.pack(side="top", fill="both", expand=True, padx=2)
        self.listbox.bind("<<ListboxSelect>>", self._selected)
        self.listbox.bind("<Double-Button-1>", self._activate)
        self.entry.focus_set()
        self.show(start)

    def show(self, folder: Path) -> None:
        self.cwd = folder
        self.folder.configure(text="Folder: ~/" + self.app.rel(folder).removeprefix("."))
        self.listbox.delete(0, "end")
        if folder.resolve() != self.app.home.resolve():
            self.listbox.insert("end", "../")
        entries = sorted((p for p in folder.iterdir() if not p.name.startswith(".")), key=lambda p: p.name)
        for p in [p for p in entries if p.is_dir()] + [p for p in entries if not p.is_dir()]:
            self.listbox.insert("end", p.name + ("/" if p.is_dir() else ""))

    def _selected(self, _event: tk.Event) -> None:
        sel = self.listbox.curselection()
        if sel and not str(self.listbox.get(sel[0])).endswith("/"):
            self.entry.delete(0, "end")
            self.entry.insert(0, self.listbox.get(sel[0]))

    def _activate(self, _event: tk.Event) -> None:
        sel = self.listbox.curselection()
        if not sel:
            return
        name = str(self.listbox.get(sel[0]))
        if name.endswith("/"):
            self.show((self.cwd / name.rstrip("/")).resolve())
        elif self.mode == "open":
            self.ok()

    def ok(self) -> None:
        name = self.entry.get().strip()
        if not name:
            self.fail("Type a file name.")
            return
        path = (self.cwd / name).resolve()
        if not self.app.inside_home(path):
            self.fail("Choose a place inside your home folder.")
        elif path.is_dir():
            self.entry.delete(0, "end")
            self.show(path)
        elif self.mode == "open" and not path.is_file():
            self.fail(f"No such file: {name}")
        elif self.mode == "save" and not path.parent.is_dir():
            self.fail(f"No such folder: {path.parent.name}")
        else:
            error = self.on_done(path)
            if error:
                self.fail(error)
            else:
                self.close()

    def describe(self) -> dict[str, Any]:
        sel = self.listbox.curselection()
        return {**super().describe(), "folder": self.app.rel(self.cwd), "filename": self.entry.get(),
                "selected": str(self.listbox.get(sel[0])) if sel else None}  # fmt: skip


class Prompt(Dialog):
    """Ask for one line of text (a new name); `on_ok` returns an error message or None to close."""

    kind = "prompt"

    def __init__(
        self, app: Any, title: str, label: str, initial: str, on_ok: Callable[[str], str | None]
    ) -> None:
        super().__init__(app, title, name="prompt", height_frac=0.5)
        self.on_ok = on_ok
        tk.Label(self, text=label, name="label", anchor="w").pack(side="top", fill="x")
        self.entry = tk.Entry(self, name="value")
        self.entry.pack(side="top", fill="x", padx=4)
        report.label(self.entry, label.rstrip(":"))
        self.entry.insert(0, initial)
        self.entry.select_range(0, "end")
        self.entry.bind("<Return>", lambda _e: self.ok())
        self.buttons(("ok", "OK", self.ok), ("cancel", "Cancel", self.close))
        self.entry.focus_set()

    def ok(self) -> None:
        error = self.on_ok(self.entry.get().strip())
        if error:
            self.fail(error)
        else:
            self.close()

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "value": self.entry.get()}


class Confirm(Dialog):
    """A yes/no question."""

    kind = "confirm"

    def __init__(self, app: Any, title: str, question: str, on_yes: Callable[[], None]) -> None:
        super().__init__(app, title, name="confirm", height_frac=0.45)
        self.on_yes = on_yes
        tk.Label(self, text=question, name="question", anchor="w", justify="left",
                 wraplength=int(app.layout.width * 0.8)).pack(side="top", fill="x", padx=4, pady=4)  # fmt: skip
        self.buttons(("yes", "Yes", self.yes), ("no", "No", self.close))

    def yes(self) -> None:
        self.close()
        self.on_yes()
