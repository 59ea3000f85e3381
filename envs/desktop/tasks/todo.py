"""To-do tasks: add an item, mark one done, change view settings through the menus."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from envs.desktop.launch import AppLaunch
from envs.desktop.tasks import words
from envs.desktop.tasks.base import Episode, Step, Task
from envs.desktop.tasks.moves import click, fill, menu_item, need
from envs.desktop.tkapps.spec import TODO_FILE
from envs.desktop.view import DesktopView


def write_todo(home: Path, items: list[dict[str, Any]], **settings: Any) -> None:
    """The to-do app's saved list, as it reads it at start."""
    (home / TODO_FILE).write_text(json.dumps({"items": items, **settings}))


def _items(rng: random.Random, lo: int, hi: int) -> list[dict[str, Any]]:
    return [{"text": t, "done": rng.random() < 0.3} for t in rng.sample(words.ITEMS, rng.randint(lo, hi))]


class TodoAddItem(Task):
    name = "todo-add-item"
    apps = ("todo",)
    max_steps = 8

    def setup(self, rng: random.Random, home: Path) -> Episode:
        items = _items(rng, 0, 5)
        text = rng.choice([t for t in words.ITEMS if t not in {i["text"] for i in items}])
        write_todo(home, items)
        return Episode(f"Add '{text}' to the To-do list.", [AppLaunch("todo")], {"text": text})

    def check(self, ep: Episode, view: DesktopView) -> bool:
        return any(i["text"] == ep.goal["text"] and not i["done"] for i in view.state("todo")["items"])

    def expert(self, ep: Episode, view: DesktopView, shell_ok: bool) -> Step:
        step = fill(view, "todo", "new_item", ep.goal["text"])
        return step or click(need(view, app="todo", name="add"), "I click Add.")


class TodoMarkDone(Task):
    name = "todo-mark-done"
    apps = ("todo",)
    max_steps = 6

    def setup(self, rng: random.Random, home: Path) -> Episode:
        items = _items(rng, 2, 6)
        target = rng.randrange(len(items))
        items[target]["done"] = False
        write_todo(home, items)
        others = [dict(i) for j, i in enumerate(items) if j != target]
        goal = {"text": items[target]["text"], "others": others}
        return Episode(f"In the To-do list, mark '{goal['text']}' as done.", [AppLaunch("todo")], goal)

    def check(self, ep: Episode, view: DesktopView) -> bool:
        items = view.state("todo")["items"]
        target = [i for i in items if i["text"] == ep.goal["text"]]
        others = [i for i in items if i["text"] != ep.goal["text"]]
        return len(target) == 1 and target[0]["done"] and others == ep.goal["others"]

    def expert(self, ep: Episode, view: DesktopView, shell_ok: bool) -> Step:
        box = need(view, app="todo", role="checkbox", text=ep.goal["text"])
        return click(box, f"I tick the box of '{ep.goal['text']}'.")


class TodoSettings(Task):
    name = "todo-settings"
    apps = ("todo",)
    max_steps = 8

    def setup(self, rng: random.Random, home: Path) -> Episode:
        items = _items(rng, 2, 5)
        items[0]["done"] = True  # so that hiding completed items shows
        start = {"theme": rng.choice(["light", "dark"]), "hide_done": rng.random() < 0.5}
        write_todo(home, items, **start)
        key = rng.choice(["theme", "hide_done"])
        goal = {
            **start,
            key: ("dark" if start["theme"] == "light" else "light") if key == "theme" else not start[key],
        }
        if key == "theme":
            instruction = f"Switch the To-do app to the {goal['theme']} theme using its View menu."
        else:
            instruction = (
                f"Use the To-do app's View menu to {'hide' if goal['hide_done'] else 'show'} completed items."
            )
        return Episode(instruction, [AppLaunch("todo")], goal)

    def check(self, ep: Episode, view: DesktopView) -> bool:
        todo = view.state("todo")
        return todo["theme"] == ep.goal["theme"] and todo["hide_done"] == ep.goal["hide_done"]

    def expert(self, ep: Episode, view: DesktopView, shell_ok: bool) -> Step:
        todo = view.state("todo")
        if todo["theme"] != ep.goal["theme"]:
            return menu_item(view, "todo", "View", f"{ep.goal['theme'].capitalize()} Theme")
        return menu_item(view, "todo", "View", "Hide Completed")
