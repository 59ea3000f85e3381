"""What checkers and scripted experts see after a step: each app's state and the visible elements.

Built from the apps' side-channel answers and the X window stack; it is privileged (the policy gets only
the screenshot and, in `elements` text mode, the role/text/centre of each visible element).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class UIElement:
    """A visible widget, with the names an expert can find it by (`name`: Tk widget name, `app`)."""

    app: str
    name: str
    path: str
    role: str
    text: str
    x: int
    y: int
    w: int
    h: int
    value: str = ""
    disabled: bool = False

    @property
    def center(self) -> tuple[int, int]:
        return self.x + self.w // 2, self.y + self.h // 2


@dataclass
class DesktopView:
    home: Path
    states: dict[str, dict[str, Any]] = field(default_factory=dict)  # app -> its reported state
    elements: list[UIElement] = field(default_factory=list)  # visible ones, top window first
    front: str | None = None  # the app whose window has the keyboard (the top one)
    errors: dict[str, list[str]] = field(default_factory=dict)  # app -> exceptions raised in its callbacks

    def state(self, app: str) -> dict[str, Any]:
        return self.states.get(app, {})

    def find(self, app: str | None = None, name: str | None = None, role: str | None = None,
             text: str | None = None, path_has: str | None = None) -> UIElement | None:  # fmt: skip
        """The first visible element matching every given field (`text` exactly), or None."""
        for e in self.elements:
            if (app is None or e.app == app) and (name is None or e.name == name) and (
                role is None or e.role == role) and (text is None or e.text == text) and (
                path_has is None or path_has in e.path):  # fmt: skip
                return e
        return None

    def focused(self, app: str, widget: str) -> bool:
        """Whether typing now would reach `widget` of `app`."""
        return self.front == app and self.state(app).get("focus") == widget
