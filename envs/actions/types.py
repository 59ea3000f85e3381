"""The UI-TARS-1.5 computer-use action space as one small, serialisable dataclass.

Verbs (coordinates are screen pixels once they reach an env):
    click(start_box)  left_double(start_box)  right_single(start_box)  drag(start_box, end_box)
    hotkey(key)  type(content)  scroll(start_box, direction)  wait()  finished(content)
    shell(command)   # GUI+SDK hybrid (UI-TARS-2), only where an env enables it
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

Verb = Literal[
    "click", "left_double", "right_single", "drag", "hotkey", "type", "scroll", "wait", "finished", "shell"
]
VERBS: tuple[str, ...] = ("click", "left_double", "right_single", "drag", "hotkey", "type", "scroll", "wait",
                          "finished", "shell")  # fmt: skip
POINT_VERBS = ("click", "left_double", "right_single", "drag", "scroll")
DIRECTIONS = ("up", "down", "left", "right")

Point = tuple[int, int]


class ActionError(ValueError):
    """A model response that is not a valid action. Envs report it in info["action_error"], never raise it."""


@dataclass(frozen=True)
class Action:
    verb: Verb
    start: Point | None = None  # click / double / right / drag start / scroll anchor
    end: Point | None = None  # drag end
    key: str | None = None  # hotkey, e.g. "ctrl c", "enter"
    content: str | None = None  # type / finished
    direction: str | None = None  # scroll
    command: str | None = None  # shell

    def __post_init__(self) -> None:
        problem = validate(self)
        if problem:
            raise ActionError(problem)

    def to_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Action:
        d = dict(d)
        for k in ("start", "end"):
            if d.get(k) is not None:
                d[k] = tuple(int(v) for v in d[k])
        return cls(**d)


def validate(a: Action) -> str | None:
    """Why an action is malformed, or None."""
    if a.verb not in VERBS:
        return f"unknown action '{a.verb}'; allowed: {', '.join(VERBS)}"
    if a.verb in POINT_VERBS and a.start is None:
        return f"{a.verb} needs a point: {a.verb}(start_box='(x,y)')"
    for p in (a.start, a.end):
        if p is not None and (len(p) != 2 or min(p) < 0):
            return f"coordinates must be two non-negative numbers, got {p}"
    if a.verb == "drag" and a.end is None:
        return "drag needs end_box='(x,y)'"
    if a.verb == "hotkey" and not (a.key or "").strip():
        return "hotkey needs key='...', e.g. hotkey(key='ctrl c')"
    if a.verb == "type" and a.content is None:
        return "type needs content='...'"
    if a.verb == "scroll" and a.direction not in DIRECTIONS:
        return f"scroll direction must be one of {', '.join(DIRECTIONS)}, got {a.direction!r}"
    if a.verb == "shell" and not (a.command or "").strip():
        return "shell needs command='...'"
    return None
