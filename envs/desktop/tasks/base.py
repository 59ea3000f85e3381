"""A task template: seeded setup of the episode's HOME and apps, a checker, and a scripted expert.

    setup(rng, home) -> Episode     write the starting files, choose the goal, say which apps are open
    check(episode, view) -> bool    has the goal been reached? (reads files and the apps' state)
    expert(episode, view, shell_ok) the next (Action, thought) towards the goal; `shell_ok` allows the hybrid
                                    shell(...) action where a command is the natural tool

Experts are reactive: they decide from the current view (which app is in front, what is focused, what a
dialog holds), not from a memory of what they did, so they recover from detours and can take over an
episode that a policy started.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from envs.actions import Action
from envs.desktop.launch import AppLaunch
from envs.desktop.view import DesktopView

Step = tuple[Action, str]  # the expert's next action and the thought it gives for it


@dataclass
class Episode:
    instruction: str
    apps: list[AppLaunch]  # open at the start, bottom to top
    goal: dict[str, Any]
    memo: dict[str, Any] = field(default_factory=dict)  # for the few experts that must remember (terminal)


class Task:
    name: ClassVar[str]
    apps: ClassVar[tuple[str, ...]]  # the apps it uses, for tags and docs
    max_steps: ClassVar[int] = 15

    def setup(self, rng: random.Random, home: Path) -> Episode:
        raise NotImplementedError

    def check(self, ep: Episode, view: DesktopView) -> bool:
        raise NotImplementedError

    def expert(self, ep: Episode, view: DesktopView, shell_ok: bool) -> Step:
        raise NotImplementedError


def read(path: Path) -> str | None:
    """A file's text, or None when it is missing or unreadable."""
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError):
        return None
