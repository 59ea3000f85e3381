"""Editor tasks: write and save a new file, append a line to an existing one, change settings by menu."""

from __future__ import annotations

import random
from pathlib import Path

from envs.actions import Action
from envs.desktop.launch import AppLaunch
from envs.desktop.tasks import words
from envs.desktop.tasks.base import Episode, Step, Task, read
from envs.desktop.tasks.moves import click, fill, menu_item, need, q, shell
from envs.desktop.tkapps.spec import EDITOR_SETTINGS_FILE, TEXT_SIZES
from envs.desktop.view import DesktopView


def _other_files(rng: random.Random, home: Path, names: list[str]) -> None:
    for name in names:
        (home / name).write_text(rng.choice(words.PHRASES) + "\n")


def _dialog_step(view: DesktopView, kind: str, filename: str) -> Step | None:
    """In an open/save dialog: type the file name, then confirm; cancel a dialog of another kind."""
    dialog = view.state("editor")["dialog"]
    if dialog is None:
        return None
    if dialog["kind"] != kind:
        return click(need(view, app="editor", name="cancel"), "This is not the dialog I need; I cancel it.")
    step = fill(view, "editor", "filename", filename)
    if step is not None:
        return step
    verb = "Save" if kind == "save" else "Open"
    return click(need(view, app="editor", name="ok"), f"The file name is right; I click {verb}.")


class EditorCreateFile(Task):
    name = "editor-create-file"
    apps = ("editor",)
    max_steps = 12

    def setup(self, rng: random.Random, home: Path) -> Episode:
        filename, *others = words.filenames(rng, 3)
        _other_files(rng, home, others)
        content = rng.choice(words.PHRASES)
        instruction = f"Use the Editor to create a file named {filename} in your home folder containing the text '{content}'."
        return Episode(instruction, [AppLaunch("editor")], {"filename": filename, "content": content})

    def check(self, ep: Episode, view: DesktopView) -> bool:
        return (read(view.home / ep.goal["filename"]) or "").rstrip("\n") == ep.goal["content"]

    def expert(self, ep: Episode, view: DesktopView, shell_ok: bool) -> Step:
        g = ep.goal
        if shell_ok:
            return shell(
                f"printf '%s\\n' {q(g['content'])} > {q(g['filename'])}",
                "A shell command writes the file directly.",
            )
        step = _dialog_step(view, "save", g["filename"])
        if step is not None:
            return step
        ed = view.state("editor")
        step = fill(view, "editor", "text", g["content"], current=ed["text"])
        if step is not None:
            return step
        return Action("hotkey", key="ctrl s"), "The text is written; I save it with Ctrl+S."


class EditorAppendLine(Task):
    name = "editor-append-line"
    apps = ("editor",)
    max_steps = 14

    def setup(self, rng: random.Random, home: Path) -> Episode:
        filename, *others = words.filenames(rng, 4)
        items = rng.sample(words.GROCERIES, rng.randint(3, 6))
        original = "\n".join(items[:-1])
        (home / filename).write_text(original + "\n")
        _other_files(rng, home, others)
        instruction = (
            f"Open {filename} in the Editor, add the line '{items[-1]}' at the end, and save the file."
        )
        goal = {"filename": filename, "original": original, "line": items[-1]}
        return Episode(instruction, [AppLaunch("editor")], goal)

    @staticmethod
    def expected(ep: Episode) -> str:
        return ep.goal["original"] + "\n" + ep.goal["line"]

    def check(self, ep: Episode, view: DesktopView) -> bool:
        return (read(view.home / ep.goal["filename"]) or "").rstrip("\n") == self.expected(ep)

    def expert(self, ep: Episode, view: DesktopView, shell_ok: bool) -> Step:
        g = ep.goal
        step = _dialog_step(view, "open", g["filename"])
        if step is not None:
            return step
        ed = view.state("editor")
        if ed["path"] != g["filename"]:
            return menu_item(view, "editor", "File", "Open...")
        text = ed["text"].rstrip("\n")
        if text == g["original"]:
            if not view.focused("editor", "text"):
                return click(need(view, app="editor", name="text"), "I click into the document.")
            if not ed["at_end"]:
                return Action("hotkey", key="ctrl end"), "I move the cursor to the end of the document."
            sep = "" if ed["text"].endswith("\n") else "\n"
            return Action("type", content=sep + g["line"]), f"I type the new line '{g['line']}'."
        if text != self.expected(ep):
            step = fill(view, "editor", "text", self.expected(ep), current=ed["text"])
            if step is not None:
                return step
        return Action("hotkey", key="ctrl s"), "The line is added; I save with Ctrl+S."


class EditorSettings(Task):
    name = "editor-settings"
    apps = ("editor",)
    max_steps = 10

    def setup(self, rng: random.Random, home: Path) -> Episode:
        start = {"wrap": rng.random() < 0.5, "size": rng.choice(list(TEXT_SIZES))}
        goal = dict(start)
        if rng.random() < 0.5:
            goal["wrap"] = not start["wrap"]
        if goal == start or rng.random() < 0.5:
            goal["size"] = rng.choice([s for s in TEXT_SIZES if s != start["size"]])
        (home / EDITOR_SETTINGS_FILE).write_text(
            f'{{"wrap": {str(start["wrap"]).lower()}, "size": "{start["size"]}"}}'
        )
        _other_files(rng, home, words.filenames(rng, 2))
        wrap = "on" if goal["wrap"] else "off"
        instruction = (
            f"In the Editor's Options menu, set word wrap {wrap} and the text size to {goal['size']}."
        )
        return Episode(instruction, [AppLaunch("editor")], goal)

    def check(self, ep: Episode, view: DesktopView) -> bool:
        ed = view.state("editor")
        return ed.get("wrap") == ep.goal["wrap"] and ed.get("size") == ep.goal["size"]

    def expert(self, ep: Episode, view: DesktopView, shell_ok: bool) -> Step:
        ed = view.state("editor")
        if ed["wrap"] != ep.goal["wrap"]:
            return menu_item(view, "editor", "Options", "Word wrap")
        return menu_item(view, "editor", "Options", f"{ep.goal['size'].capitalize()} text")
