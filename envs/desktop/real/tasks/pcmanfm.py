"""PCManFM (the LXDE file manager) tasks: rename, move, delete files and make a folder; the checkers list
the directories.

PCManFM opens on HOME in its detailed list view (apps.py writes the setting): each file is a row of
named table cells in the accessibility tree, so the experts click a file by its name. Renaming is F2 and
a dialog with the name selected; moving is cut (Ctrl+X), open the folder, paste (Ctrl+V).
"""

from __future__ import annotations

import random
from pathlib import Path

from envs.actions import Action
from envs.desktop.real.apps import AppLaunch
from envs.desktop.real.tasks.base import Episode, RealTask, Step, click, hotkey, put, type_text, wait
from envs.desktop.real.view import RealElement, RealView
from envs.desktop.tasks import words

APP = "pcmanfm"


def listing(path: Path) -> set[str]:
    """Names in a directory, folders with a trailing '/' (hidden ones left out)."""
    try:
        return {p.name + ("/" if p.is_dir() else "") for p in path.iterdir() if not p.name.startswith(".")}
    except OSError:
        return set()


def row(view: RealView, name: str) -> RealElement | None:
    return next((e for e in view.elements if e.app == APP and e.role == "cell" and e.text == name), None)


def location(view: RealView) -> str:
    """The path in the location bar."""
    bar = next(
        (e for e in view.elements if e.app == APP and e.role == "textbox" and e.value.startswith("/")), None
    )
    return bar.value if bar else ""


def dialog(view: RealView):
    return next((w for w in view.windows if w.app == APP and w.role in ("dialog", "alert")), None)


def _files(rng: random.Random, home: Path, k: int) -> list[str]:
    names = words.filenames(rng, k, ext=rng.choice([".txt", ".md", ".csv"]))
    for n in names:
        put(home, n, rng.choice(words.PHRASES) + "\n")
    return names


def _folders(rng: random.Random, home: Path, k: int) -> list[str]:
    names = rng.sample(words.FOLDERS, k)
    for n in names:
        (home / n).mkdir()
    return names


def name_dialog_step(ep: Episode, view: RealView, name: str) -> Step:
    """In a dialog asking for a name (rename, new folder): select the field's text, type `name`, Enter."""
    entry = next((e for e in view.elements if e.app == APP and e.role == "textbox" and not e.value.startswith("/")
                  and e.window == (dialog(view) or e).name), None)  # fmt: skip
    if entry is None:
        return wait("The dialog is still opening; I wait.")
    if entry.value == name:
        return hotkey("Return", "The name is in the field; I press Enter.")
    if ep.memo.get("selected") != entry.value:
        ep.memo["selected"] = entry.value
        return hotkey("ctrl a", "I select the text in the name field.")
    return type_text(name, f"I type the name {name}.")


def open_folder_step(ep: Episode, view: RealView, folder: str) -> Step | None:
    """Double-click `folder` unless the location bar shows it already."""
    if location(view).rstrip("/") == str(view.home / folder):
        return None
    e = row(view, folder)
    if e is None:
        return wait(f"I cannot see {folder}; I wait.")
    return Action("left_double", start=e.center), f"I open the folder {folder}."


class PcmanfmTask(RealTask):
    apps = (APP,)
    max_steps = 12

    def launch(self) -> list[AppLaunch]:
        return [AppLaunch(APP, (".",))]

    def select(self, ep: Episode, view: RealView, name: str) -> Step | None:
        """Click the file's row unless it is the selected one."""
        e = row(view, name)
        if e is None:
            return wait(f"I cannot see {name} yet; I wait.")
        if not (e.node and e.node.has("x")) and ep.memo.get("clicked") != name:
            ep.memo["clicked"] = name
            return click(e, f"I click {name} to select it.")
        return None


class Rename(PcmanfmTask):
    name = "pcmanfm.rename"

    def setup(self, rng: random.Random, home: Path) -> Episode:
        old, *others = _files(rng, home, 4)
        _folders(rng, home, 2)
        new = rng.choice([s for s in words.STEMS if s + Path(old).suffix not in (old, *others)]) + "-" + \
            str(rng.randint(1, 99)) + Path(old).suffix  # fmt: skip
        instruction = f"In the file manager, rename {old} to {new}."
        return Episode(instruction, self.launch(), {"old": old, "new": new})

    def check(self, ep: Episode, view: RealView) -> bool:
        names = listing(view.home)
        return ep.goal["new"] in names and ep.goal["old"] not in names

    def expert(self, ep: Episode, view: RealView, shell_ok: bool) -> Step:
        g = ep.goal
        if dialog(view) is not None:
            return name_dialog_step(ep, view, g["new"])
        step = self.select(ep, view, g["old"])
        if step is not None:
            return step
        return hotkey("F2", f"{g['old']} is selected; F2 renames it.")


class Transfer(PcmanfmTask):
    """Move (cut) or copy a file into a folder: select it, Ctrl+X or Ctrl+C, open the folder, Ctrl+V."""

    keep = False  # whether the file stays in HOME (copy)

    def setup(self, rng: random.Random, home: Path) -> Episode:
        file, *_ = _files(rng, home, 3)
        folder, *_ = _folders(rng, home, 3)
        verb = "copy" if self.keep else "move"
        instruction = f"In the file manager, {verb} {file} into the folder {folder}."
        return Episode(instruction, self.launch(), {"file": file, "folder": folder})

    def check(self, ep: Episode, view: RealView) -> bool:
        g = ep.goal
        inside = g["file"] in listing(view.home / g["folder"])
        return inside and (g["file"] in listing(view.home)) == self.keep

    def expert(self, ep: Episode, view: RealView, shell_ok: bool) -> Step:
        g = ep.goal
        if not ep.memo.get("taken"):
            step = self.select(ep, view, g["file"])
            if step is not None:
                return step
            ep.memo["taken"] = True
            key = "ctrl c" if self.keep else "ctrl x"
            return hotkey(key, f"{g['file']} is selected; I {'copy' if self.keep else 'cut'} it with {key}.")
        step = open_folder_step(ep, view, g["folder"])
        if step is not None:
            return step
        if row(view, g["file"]) is None:
            return hotkey("ctrl v", f"I am in {g['folder']}; I paste with Ctrl+V.")
        return wait("The file is in the folder; I wait for the move to finish.")


class Move(Transfer):
    name = "pcmanfm.move"


class Copy(Transfer):
    name = "pcmanfm.copy"
    keep = True


class NewFolder(PcmanfmTask):
    name = "pcmanfm.new-folder"

    def setup(self, rng: random.Random, home: Path) -> Episode:
        _files(rng, home, 2)
        existing = _folders(rng, home, 2)
        new = rng.choice([f for f in words.FOLDERS if f not in existing]) + f"-{rng.randint(2020, 2030)}"
        return Episode(f"In the file manager, create a folder named {new}.", self.launch(), {"new": new})

    def check(self, ep: Episode, view: RealView) -> bool:
        return ep.goal["new"] + "/" in listing(view.home)

    def expert(self, ep: Episode, view: RealView, shell_ok: bool) -> Step:
        if dialog(view) is not None:
            return name_dialog_step(ep, view, ep.goal["new"])
        if row(view, ep.goal["new"]) is not None:
            return wait("The folder is there; I wait.")
        return hotkey("ctrl shift n", "Ctrl+Shift+N makes a new folder.")


class Delete(PcmanfmTask):
    name = "pcmanfm.delete"

    def setup(self, rng: random.Random, home: Path) -> Episode:
        files = _files(rng, home, 4)
        _folders(rng, home, 1)
        gone = rng.choice(files)
        return Episode(f"In the file manager, delete {gone}.", self.launch(), {"gone": gone, "files": files})

    def check(self, ep: Episode, view: RealView) -> bool:
        names = listing(view.home)
        return ep.goal["gone"] not in names and all(
            f in names for f in ep.goal["files"] if f != ep.goal["gone"]
        )

    def expert(self, ep: Episode, view: RealView, shell_ok: bool) -> Step:
        if dialog(view) is not None:
            return hotkey("Return", "The file manager asks to confirm; I press Enter.")
        step = self.select(ep, view, ep.goal["gone"])
        if step is not None:
            return step
        return hotkey("Delete", f"{ep.goal['gone']} is selected; I press Delete.")


PCMANFM_TASKS = (Rename, Move, Copy, NewFolder, Delete)
