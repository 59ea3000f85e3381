"""Which apps an episode opens: `AppLaunch(name, init)`, shared by tasks and the desktop (no X imports here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TERMINAL = "terminal"  # xterm: not a Tk app, so it reports no elements or state (one element: its window)
TITLES = {
    "editor": "Editor",
    "calculator": "Calculator",
    "files": "Files",
    "todo": "To-do",
    TERMINAL: "Terminal",
    "panel": "Task bar",
}


@dataclass(frozen=True)
class AppLaunch:
    """An app open when the episode starts; `init` is app-specific (e.g. the editor's file to open)."""

    name: str
    init: dict[str, Any] = field(default_factory=dict)
