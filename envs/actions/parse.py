"""Parse and format UI-TARS-1.5 responses: `Thought: ...\\nAction: click(start_box='(x,y)')`.

Accepted point forms: `'(x,y)'`, `'<|box_start|>(x,y)<|box_end|>'`, `'(x1,y1,x2,y2)'` (the box centre),
`'[x1, y1, x2, y2]'`, and `point='<point>x y</point>'` (also `start_point`/`end_point`). Numbers may be
floats; they are rounded to integer pixels. `format_action(parse_action(s))` is canonical, and
`parse_action(format_action(a)) == a` for every valid action.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from envs.actions.types import VERBS, Action, ActionError, Point

_NUM = r"-?\d+(?:\.\d+)?"
_POINT_TAG = re.compile(rf"<point>\s*({_NUM})[\s,]+({_NUM})\s*</point>")
_CALL = re.compile(r"([A-Za-z_]+)\s*\((.*)\)\s*$", re.S)
_ACTION_LINE = re.compile(r"Action\s*:\s*", re.I)
_THOUGHT = re.compile(r"^\s*Thought\s*:\s*(.*?)\s*(?=Action\s*:|$)", re.S | re.I)
_KWARG_FALLBACK = re.compile(r"(\w+)\s*=\s*(['\"])(.*?)\2(?=\s*,\s*\w+\s*=|\s*$)", re.S)


@dataclass(frozen=True)
class ParsedResponse:
    thought: str
    action: Action


def parse_point(value: str) -> Point:
    """'(x,y)', '(x1,y1,x2,y2)' (centre), '<|box_start|>(x,y)<|box_end|>', '<point>x y</point>'."""
    m = _POINT_TAG.search(value)
    nums = (
        [m.group(1), m.group(2)]
        if m
        else re.findall(_NUM, value.replace("<|box_start|>", "").replace("<|box_end|>", ""))
    )
    if len(nums) == 2:
        x, y = (float(n) for n in nums)
    elif len(nums) == 4:
        x1, y1, x2, y2 = (float(n) for n in nums)
        x, y = (x1 + x2) / 2, (y1 + y2) / 2
    else:
        raise ActionError(f"cannot read a point from {value!r}; expected '(x,y)'")
    if x < 0 or y < 0:
        raise ActionError(f"coordinates must be non-negative, got ({x:g},{y:g})")
    return int(round(x)), int(round(y))


def _kwargs(args: str) -> dict[str, str]:
    """`a='1', b="2"` -> {'a': '1', 'b': '2'}; Python's parser first (escapes), a tolerant regex second."""
    if not args.strip():
        return {}
    try:
        node = ast.parse(f"f({args})", mode="eval").body
        assert isinstance(node, ast.Call) and not node.args
        out = {}
        for kw in node.keywords:
            if kw.arg is None or not isinstance(kw.value, ast.Constant):
                raise ValueError
            out[kw.arg] = str(kw.value.value)
        return out
    except (SyntaxError, ValueError, AssertionError):
        found = {m.group(1): m.group(3) for m in _KWARG_FALLBACK.finditer(args)}
        if not found:
            raise ActionError(f"cannot read the arguments {args.strip()!r}; expected name='value'") from None
        return found


def _split(text: str) -> tuple[str, str]:
    """(thought, action call) from a full response."""
    parts = _ACTION_LINE.split(text, maxsplit=1)
    if len(parts) == 2:
        m = _THOUGHT.match(parts[0])
        thought = m.group(1) if m else parts[0].strip()
        call = parts[1].strip()
    else:
        thought, call = "", text.strip()
    # only the first call counts; anything after its closing parenthesis on later lines is ignored
    call = call.split("\n\n")[0].strip()
    if "\n" in call and not call.startswith(("type(", "finished(", "shell(")):
        call = call.splitlines()[0].strip()
    return thought.strip(), call


def parse_action(text: str) -> ParsedResponse:
    """Parse one model response. Raises ActionError with a message fit to show the model."""
    if not isinstance(text, str):
        raise ActionError(f"an action must be text, got {type(text).__name__}")
    thought, call = _split(text)
    m = _CALL.match(call)
    if not m:
        raise ActionError(f"no action call found in {call[:80]!r}; expected e.g. click(start_box='(x,y)')")
    verb, kw = m.group(1), _kwargs(m.group(2))
    if verb not in VERBS:
        raise ActionError(f"unknown action '{verb}'; allowed: {', '.join(VERBS)}")
    start_raw = kw.get("start_box", kw.get("point", kw.get("start_point")))
    end_raw = kw.get("end_box", kw.get("end_point"))
    action = Action(
        verb=verb,  # type: ignore[arg-type]
        start=parse_point(start_raw) if start_raw is not None else None,
        end=parse_point(end_raw) if end_raw is not None else None,
        key=kw.get("key"),
        content=kw.get("content", "" if verb == "finished" else None),
        direction=kw.get("direction"),
        command=kw.get("command"),
    )
    return ParsedResponse(thought, action)


# Control characters as Python escapes (\n, \x00, ...), so Python's own parser reads every quoted value back.
_ESCAPES = {c: repr(chr(c))[1:-1] for c in [*range(0x20), 0x7F]} | {ord("\\"): "\\\\", ord("'"): "\\'"}


def _quote(s: str) -> str:
    return "'" + s.translate(_ESCAPES) + "'"


def _box(p: Point) -> str:
    return _quote(f"({p[0]},{p[1]})")


def format_action(a: Action) -> str:
    """The canonical UI-TARS string for an action."""
    if a.verb in ("click", "left_double", "right_single"):
        return f"{a.verb}(start_box={_box(a.start)})"  # type: ignore[arg-type]
    if a.verb == "drag":
        return f"drag(start_box={_box(a.start)}, end_box={_box(a.end)})"  # type: ignore[arg-type]
    if a.verb == "scroll":
        return f"scroll(start_box={_box(a.start)}, direction={_quote(a.direction or '')})"  # type: ignore[arg-type]
    if a.verb == "hotkey":
        return f"hotkey(key={_quote(a.key or '')})"
    if a.verb == "type":
        return f"type(content={_quote(a.content or '')})"
    if a.verb == "finished":
        return f"finished(content={_quote(a.content or '')})"
    if a.verb == "shell":
        return f"shell(command={_quote(a.command or '')})"
    return "wait()"


def format_response(action: Action, thought: str = "") -> str:
    """`Thought: ...\\nAction: ...` (the Thought line only when there is a thought)."""
    return (f"Thought: {thought}\n" if thought else "") + f"Action: {format_action(action)}"
