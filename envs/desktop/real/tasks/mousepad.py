"""Mousepad (Xfce's text editor) tasks: edit a document and save it; the checkers read the saved file.

The experts type into the document (its AT-SPI text node shows what it holds, so they are reactive) and
save with Ctrl+S; a new document's Save As dialog gets the file's full path in its name field.
"""

from __future__ import annotations

import random
from pathlib import Path

from envs.desktop.real.apps import AppLaunch
from envs.desktop.real.tasks.base import Episode, RealTask, Step, click, hotkey, put, read, type_text, wait
from envs.desktop.real.view import RealView
from envs.desktop.tasks import words

APP = "mousepad"


def document(view: RealView) -> str | None:
    """The text of the document in Mousepad's main window (None when it is not showing)."""
    e = view.find(app=APP, role="textbox", window="Mousepad")
    return None if e is None or e.node is None else e.node.text


def saved(view: RealView, name: str) -> str:
    return (read(view.home / name) or "").rstrip("\n")


def edit_and_save(ep: Episode, view: RealView, want: str, how: str) -> Step:
    """Make the document `want` (select all, type it) and save it with Ctrl+S."""
    text = document(view)
    if view.window(APP, "dialog") or view.window(APP, "file chooser"):
        return save_dialog_step(ep, view)
    if text is None:
        return wait("The editor window is not showing yet; I wait.")
    if text.rstrip("\n") != want:
        e = view.find(app=APP, role="textbox", window="Mousepad")
        assert e is not None and e.node is not None
        if not e.node.has("f"):
            return click(e, "I click into the document.")
        if ep.memo.get("selected") != text:
            ep.memo["selected"] = text
            return hotkey("ctrl a", "I select the whole document to replace it.")
        return type_text(want + "\n", how)
    return hotkey("ctrl s", "The document reads as it should; I save it with Ctrl+S.")


def save_dialog_step(ep: Episode, view: RealView) -> Step:
    """In Save As: put the file's full path in the name field, then press Enter."""
    path = str(view.home / ep.goal["filename"])
    name = next((e for e in view.elements if e.app == APP and e.role == "textbox" and e.window != ""
                 and "Mousepad" not in e.window and e.node is not None and e.node.has("t")), None)  # fmt: skip
    if name is None:
        return wait("The save dialog is still opening; I wait.")
    if name.value != path:
        if not (name.node and name.node.has("f")):
            return click(name, "I click the file name field.")
        if (
            name.value and ep.memo.get("selected_name") != name.value
        ):  # select what is there, then type over it
            ep.memo["selected_name"] = name.value
            return hotkey("ctrl a", "I select the name field's text.")
        return type_text(path, "I type the full path of the file.")
    return hotkey("Return", "The name is right; I press Enter to save.")


class MousepadTask(RealTask):
    apps = (APP,)
    max_steps = 12
    alerts = ()

    def check(self, ep: Episode, view: RealView) -> bool:
        return saved(view, ep.goal["filename"]) == ep.goal["want"]


class AppendLine(MousepadTask):
    name = "mousepad.append-line"

    def setup(self, rng: random.Random, home: Path) -> Episode:
        filename, other = words.filenames(rng, 2)
        items = rng.sample(words.GROCERIES, rng.randint(3, 6))
        put(home, filename, "\n".join(items[:-1]) + "\n")
        put(home, other, rng.choice(words.PHRASES) + "\n")
        instruction = f"In Mousepad, add the line '{items[-1]}' at the end of {filename} and save the file."
        goal = {"filename": filename, "want": "\n".join(items)}
        return Episode(instruction, [AppLaunch(APP, (filename,))], goal)

    def expert(self, ep: Episode, view: RealView, shell_ok: bool) -> Step:
        return edit_and_save(ep, view, ep.goal["want"], "I type the list with the new line at the end.")


class ReplaceWord(MousepadTask):
    name = "mousepad.replace-word"

    def setup(self, rng: random.Random, home: Path) -> Episode:
        filename = words.filenames(rng, 1)[0]
        old, new = rng.sample(["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"], 2)
        lines = [f"The meeting is on {old}.", rng.choice(words.PHRASES), f"Bring the notes on {old} morning."]
        put(home, filename, "\n".join(lines) + "\n")
        instruction = f"In Mousepad, replace every '{old}' in {filename} with '{new}' and save the file."
        goal = {"filename": filename, "want": "\n".join(lines).replace(old, new)}
        return Episode(instruction, [AppLaunch(APP, (filename,))], goal)

    def expert(self, ep: Episode, view: RealView, shell_ok: bool) -> Step:
        return edit_and_save(ep, view, ep.goal["want"], "I type the text with the word replaced.")


class DeleteLine(MousepadTask):
    name = "mousepad.delete-line"

    def setup(self, rng: random.Random, home: Path) -> Episode:
        filename = words.filenames(rng, 1)[0]
        items = rng.sample(words.ITEMS, rng.randint(3, 5))
        gone = rng.choice(items)
        put(home, filename, "\n".join(items) + "\n")
        instruction = f"In Mousepad, delete the line '{gone}' from {filename} and save the file."
        goal = {"filename": filename, "want": "\n".join(i for i in items if i != gone)}
        return Episode(instruction, [AppLaunch(APP, (filename,))], goal)

    def expert(self, ep: Episode, view: RealView, shell_ok: bool) -> Step:
        return edit_and_save(ep, view, ep.goal["want"], "I type the list without that line.")


class InsertTitle(MousepadTask):
    name = "mousepad.insert-title"

    def setup(self, rng: random.Random, home: Path) -> Episode:
        filename = words.filenames(rng, 1)[0]
        body = rng.sample(words.PHRASES, 2)
        title = rng.choice(["Notes", "Plan", "To do", "Reminders", "Week"]) + f" {rng.randint(1, 52)}"
        put(home, filename, "\n".join(body) + "\n")
        instruction = f"In Mousepad, insert the title line '{title}' at the top of {filename} and save it."
        goal = {"filename": filename, "want": "\n".join([title, *body])}
        return Episode(instruction, [AppLaunch(APP, (filename,))], goal)

    def expert(self, ep: Episode, view: RealView, shell_ok: bool) -> Step:
        return edit_and_save(ep, view, ep.goal["want"], "I type the document with the title on top.")


class CreateFile(MousepadTask):
    name = "mousepad.create-file"
    max_steps = 14

    def setup(self, rng: random.Random, home: Path) -> Episode:
        filename, other = words.filenames(rng, 2)
        put(home, other, rng.choice(words.PHRASES) + "\n")
        content = rng.choice(words.PHRASES)
        instruction = f"Mousepad is open on a new document: write '{content}' in it and save it as {filename} in your home folder."
        return Episode(instruction, [AppLaunch(APP)], {"filename": filename, "want": content})

    def expert(self, ep: Episode, view: RealView, shell_ok: bool) -> Step:
        if view.window(APP, "dialog") or view.window(APP, "file chooser"):
            return save_dialog_step(ep, view)
        if (document(view) or "").rstrip("\n") == ep.goal["want"]:
            return hotkey("ctrl s", "The text is written; Ctrl+S opens the save dialog.")
        return edit_and_save(ep, view, ep.goal["want"], "I type the text.")


MOUSEPAD_TASKS = (AppendLine, ReplaceWord, DeleteLine, InsertTitle, CreateFile)
