"""UI-TARS key names ("ctrl c", "Enter", "shift+tab", "pagedown") to Playwright key chords ("Control+c")."""

from __future__ import annotations

import re

from envs.actions import ActionError

_ALIASES = {
    "ctrl": "Control", "control": "Control", "cmd": "Meta", "command": "Meta", "meta": "Meta", "win": "Meta",
    "super": "Meta", "alt": "Alt", "option": "Alt", "shift": "Shift",
    "enter": "Enter", "return": "Enter", "esc": "Escape", "escape": "Escape", "tab": "Tab", "space": "Space",
    "backspace": "Backspace", "delete": "Delete", "del": "Delete", "insert": "Insert", "home": "Home",
    "end": "End", "pageup": "PageUp", "pagedown": "PageDown", "up": "ArrowUp", "down": "ArrowDown",
    "left": "ArrowLeft", "right": "ArrowRight", "arrowup": "ArrowUp", "arrowdown": "ArrowDown",
    "arrowleft": "ArrowLeft", "arrowright": "ArrowRight", "capslock": "CapsLock",
    "plus": "+", "minus": "-",
}  # fmt: skip
_FUNCTION_KEY = re.compile(r"^f([1-9]|1[0-2])$")


def playwright_chord(key: str) -> str:
    """'ctrl c' -> 'Control+c'; raises ActionError for a key Chromium cannot press."""
    parts = [p for p in re.split(r"[\s+]+", key.strip()) if p] if key.strip() != "+" else ["+"]
    if not parts:
        raise ActionError("hotkey needs a key, e.g. hotkey(key='ctrl c')")
    return "+".join(_one(p) for p in parts)


def _one(part: str) -> str:
    low = part.lower()
    if low in _ALIASES:
        return _ALIASES[low]
    if _FUNCTION_KEY.match(low):
        return low.upper()
    if len(part) == 1:
        return part
    raise ActionError(f"hotkey: unknown key '{part}' (use e.g. 'enter', 'ctrl a', 'shift tab', 'pagedown')")
