"""The apps' public facts (files they keep, key names, settings values), importable without Tk.

Task templates use these to seed starting states and to find buttons; the apps import them too, so the
two never disagree.
"""

from __future__ import annotations

import operator
from collections.abc import Callable

EDITOR_SETTINGS_FILE = ".editor.json"
TEXT_SIZES = {"small": 0.85, "normal": 1.0, "large": 1.3}  # editor text size -> font scale
TODO_FILE = ".todo.json"
THEMES = {
    "light": {"bg": "#ececec", "fg": "#000000", "field": "#ffffff", "select": "#4a90d9"},
    "dark": {"bg": "#2b2b2b", "fg": "#e8e8e8", "field": "#3c3f41", "select": "#2f65a0"},
}
OPERATORS: dict[str, Callable[[float, float], float]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
}  # fmt: skip
# calculator button -> widget name suffix (key_7, key_plus, ...)
KEY_NAMES = {"+": "plus", "-": "minus", "*": "times", "/": "divide", "=": "equals", ".": "point",
             "+/-": "negate", "C": "clear", "Del": "delete"}  # fmt: skip


def format_number(x: float) -> str:
    """How the calculator shows a number: integers without a point, others to 10 significant digits."""
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return f"{x:.10g}"
