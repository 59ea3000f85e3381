"""Building blocks of the scripted experts: the moves a person makes on this desktop, one step each.

Each returns the next (Action, thought) or None when that part is already done, so an expert reads as a
list of "if not done: do it" lines.
"""

from __future__ import annotations

import shlex

from envs.actions import Action
from envs.desktop.tasks.base import Step
from envs.desktop.view import DesktopView, UIElement


class ExpertStuck(RuntimeError):
    """The expert cannot find what it needs on the screen (a bug in the expert or the app)."""


def need(view: DesktopView, **query: str) -> UIElement:
    """The element the expert is about to use; it must be on screen."""
    e = view.find(**query)
    if e is None:
        raise ExpertStuck(f"expert: no visible element {query} (front app: {view.front})")
    return e


def click(e: UIElement, thought: str) -> Step:
    return Action("click", e.center), thought


def bring_to_front(view: DesktopView, app: str, title: str) -> Step | None:
    """Click the app's task-bar button unless it is already in front."""
    if view.front == app:
        return None
    return click(
        need(view, app="panel", name=f"show_{app}"), f"I switch to the {title} app from the task bar."
    )


def menu_item(view: DesktopView, app: str, menu: str, item: str) -> Step:
    """Open `menu` on the app's menu bar, or pick `item` from it when it is open."""
    e = view.find(app=app, text=item, path_has=f"menu_{menu.lower()}.items")
    if e is not None:
        return click(e, f"I choose '{item}' in the {menu} menu.")
    return click(need(view, app=app, name=f"menu_{menu.lower()}"), f"I open the {menu} menu.")


def fill(view: DesktopView, app: str, widget: str, text: str, current: str | None = None) -> Step | None:
    """Make the text field `widget` hold `text`: focus it, select what is there, type over it.

    `current` is the field's full value when the element's (truncated) value is not enough (text areas).
    """
    e = need(view, app=app, name=widget)
    value = e.value if current is None else current
    if value == text:
        return None
    label = e.text or widget
    if not view.focused(app, widget):
        return click(e, f"I click the {label} field.")
    if value and view.state(app).get("selection") != value:
        return Action("hotkey", key="ctrl a"), f"I select everything in the {label} field to replace it."
    return Action("type", content=text), f"I type the {label}."


def shell(command: str, thought: str) -> Step:
    return Action("shell", command=command), thought


def q(s: str) -> str:
    """Quote for a shell command line."""
    return shlex.quote(s)
