"""A real-app task template: seeded start files and apps, a checker on what the apps wrote, an expert.

    setup(rng, home) -> Episode     write the start files (`put`), choose the goal, say which apps open
    check(episode, view) -> bool    reads the files the apps saved (or their accessibility tree)
    expert(episode, view, shell_ok) the next (Action, thought); reactive where the tree shows progress

`alerts` names the message dialogs (AT-SPI role "alert") a task expects, by a piece of their title or
text; any other alert ends the episode truncated, with the dialog named.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from envs.actions import Action
from envs.desktop.real.apps import AppLaunch
from envs.desktop.real.view import RealElement, RealView

Step = tuple[Action, str]


class StartFileError(RuntimeError):
    """A start file could not be written: reset refuses, naming the path."""


@dataclass
class Episode:
    instruction: str
    apps: list[AppLaunch]  # open at the start, bottom to top (the last has the keyboard)
    goal: dict[str, Any]
    memo: dict[str, Any] = field(default_factory=dict)  # for experts that must remember (typed, waited)


class RealTask:
    name: ClassVar[str]  # "<app>.<task>": the id is agentrl/desktop-real.<name>-v0
    apps: ClassVar[tuple[str, ...]]
    max_steps: ClassVar[int] = 15
    alerts: ClassVar[tuple[str, ...]] = ()

    def setup(self, rng: random.Random, home: Path) -> Episode:
        raise NotImplementedError

    def check(self, ep: Episode, view: RealView) -> bool:
        raise NotImplementedError

    def expert(self, ep: Episode, view: RealView, shell_ok: bool) -> Step:
        raise NotImplementedError


def put(home: Path, rel: str, text: str) -> Path:
    """Write a start file (parents made); StartFileError with the path when it cannot be written."""
    path = home / rel
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    except OSError as e:
        raise StartFileError(f"reset: cannot write start file {path}: {e.strerror or e}") from e
    return path


def read(path: Path) -> str | None:
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError):
        return None


def click(e: RealElement, thought: str) -> Step:
    return Action("click", start=e.center), thought


def hotkey(key: str, thought: str) -> Step:
    return Action("hotkey", key=key), thought


def type_text(text: str, thought: str) -> Step:
    return Action("type", content=text), thought


def wait(thought: str = "I wait for the app.") -> Step:
    return Action("wait"), thought


def shell(command: str, thought: str) -> Step:
    return Action("shell", command=command), thought


def q(s: str) -> str:
    """Single-quote for /bin/sh."""
    return "'" + s.replace("'", "'\\''") + "'"
