"""File-manager tasks: rename a file, delete a file, create a folder (possibly inside another one)."""

from __future__ import annotations

import random
from pathlib import Path

from envs.actions import Action
from envs.desktop.launch import AppLaunch
from envs.desktop.tasks import words
from envs.desktop.tasks.base import Episode, Step, Task, read
from envs.desktop.tasks.moves import click, fill, need, q, shell
from envs.desktop.view import DesktopView


def _populate(rng: random.Random, home: Path, files: list[str], folders: list[str]) -> dict[str, str]:
    """Write `files` (with seeded contents) and `folders` into HOME; returns the file contents."""
    contents = {}
    for name in files:
        contents[name] = rng.choice(words.PHRASES) + "\n"
        (home / name).write_text(contents[name])
    for name in folders:
        (home / name).mkdir()
        (home / name / "readme.txt").write_text(f"{name}\n")
    return contents


def _select(view: DesktopView, entry: str) -> Step | None:
    """Select `entry` in the file list unless it is selected."""
    if view.state("files")["selected"] == entry:
        return None
    return click(need(view, app="files", role="option", text=entry), f"I select {entry.rstrip('/')}.")


def _prompt(view: DesktopView, value: str) -> Step | None:
    """Type `value` into the open name prompt and confirm it; None when no prompt is open."""
    dialog = view.state("files")["dialog"]
    if dialog is None or dialog["kind"] != "prompt":
        return None
    return fill(view, "files", "value", value) or click(
        need(view, app="files", name="ok"), "I confirm with OK."
    )


def _cancel_other_dialog(view: DesktopView, kind: str) -> Step | None:
    dialog = view.state("files")["dialog"]
    if dialog is not None and dialog["kind"] != kind:
        name = "no" if dialog["kind"] == "confirm" else "cancel"
        return click(need(view, app="files", name=name), "This dialog is not what I need; I close it.")
    return None


class FilesRename(Task):
    name = "files-rename"
    apps = ("files",)
    max_steps = 10

    def setup(self, rng: random.Random, home: Path) -> Episode:
        old, new, *others = words.filenames(rng, rng.randint(4, 6))
        contents = _populate(rng, home, [old, *others], rng.sample(words.FOLDERS, rng.randint(0, 2)))
        goal = {"old": old, "new": new, "content": contents[old]}
        return Episode(f"In Files, rename {old} to {new}.", [AppLaunch("files")], goal)

    def check(self, ep: Episode, view: DesktopView) -> bool:
        g = ep.goal
        return not (view.home / g["old"]).exists() and read(view.home / g["new"]) == g["content"]

    def expert(self, ep: Episode, view: DesktopView, shell_ok: bool) -> Step:
        g = ep.goal
        if shell_ok:
            return shell(f"mv {q(g['old'])} {q(g['new'])}", "A shell command renames the file.")
        step = _cancel_other_dialog(view, "prompt") or _prompt(view, g["new"]) or _select(view, g["old"])
        return step or click(need(view, app="files", name="rename"), "I click Rename.")


class FilesDelete(Task):
    name = "files-delete"
    apps = ("files",)
    max_steps = 8

    def setup(self, rng: random.Random, home: Path) -> Episode:
        files = words.filenames(rng, rng.randint(3, 6))
        _populate(rng, home, files, rng.sample(words.FOLDERS, rng.randint(0, 2)))
        target = rng.choice(files)
        goal = {"target": target, "keep": sorted(p.name for p in home.iterdir() if p.name != target)}
        return Episode(f"Delete the file {target} using Files.", [AppLaunch("files")], goal)

    def check(self, ep: Episode, view: DesktopView) -> bool:
        left = sorted(p.name for p in view.home.iterdir() if not p.name.startswith("."))
        return left == [k for k in ep.goal["keep"] if not k.startswith(".")]

    def expert(self, ep: Episode, view: DesktopView, shell_ok: bool) -> Step:
        target = ep.goal["target"]
        if shell_ok:
            return shell(f"rm -- {q(target)}", "A shell command deletes the file.")
        dialog = view.state("files")["dialog"]
        if dialog is not None and dialog["kind"] == "confirm":
            return click(need(view, app="files", name="yes"), "I confirm the deletion.")
        step = _cancel_other_dialog(view, "confirm") or _select(view, target)
        return step or click(need(view, app="files", name="delete"), "I click Delete.")


class FilesNewFolder(Task):
    name = "files-new-folder"
    apps = ("files",)
    max_steps = 10

    def setup(self, rng: random.Random, home: Path) -> Episode:
        name, *folders = rng.sample(words.FOLDERS, rng.randint(2, 4))
        _populate(rng, home, words.filenames(rng, rng.randint(1, 3)), folders)
        parent = rng.choice(folders) + "/" if folders and rng.random() < 0.5 else ""
        where = f"inside the {parent.rstrip('/')} folder" if parent else "in your home folder"
        goal = {"name": name, "parent": parent}
        return Episode(f"Using Files, create a new folder named {name} {where}.", [AppLaunch("files")], goal)

    def check(self, ep: Episode, view: DesktopView) -> bool:
        return (view.home / ep.goal["parent"] / ep.goal["name"]).is_dir()

    def expert(self, ep: Episode, view: DesktopView, shell_ok: bool) -> Step:
        g = ep.goal
        if shell_ok:
            return shell(f"mkdir -p {q(g['parent'] + g['name'])}", "A shell command creates the folder.")
        step = _cancel_other_dialog(view, "prompt") or _prompt(view, g["name"])
        if step is not None:
            return step
        folder = view.state("files")["folder"]
        if folder != g["parent"]:
            if folder:
                return click(need(view, app="files", name="up"), "I go up to the home folder.")
            row = need(view, app="files", role="option", text=g["parent"])
            return Action("left_double", row.center), f"I open the {g['parent'].rstrip('/')} folder."
        return click(need(view, app="files", name="new_folder"), "I click New Folder.")
