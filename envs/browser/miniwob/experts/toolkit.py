"""What MiniWoB experts read and say: page nodes with a verified click point, and UI-TARS action text.

`nodes(page, css)` returns every element matching `css` with its visible text/label, value, checked and
focus state, and a point where a click really lands on it (`document.elementFromPoint` agrees, as in the
element list), or None when nothing of it can be clicked right now (hidden, covered, off screen).
`fill(...)` is the shared "make this field hold this text" step of every form expert.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from envs.actions import Action, format_response
from envs.browser.dom import POINT_JS

NODES_JS = (
    """
(css) => {
"""
    + POINT_JS
    + """
  const squash = (s) => (s || '').replace(/\\s+/g, ' ').trim();
  return Array.from(document.querySelectorAll(css)).map((el) => {
    const style = getComputedStyle(el);
    const shown = style.visibility === 'visible' && style.display !== 'none';
    const p = shown ? clickablePoint(el, el.getBoundingClientRect()) : null;
    const label = el.labels && el.labels.length ? squash(el.labels[0].innerText) : '';
    return {id: el.id, tag: el.tagName.toLowerCase(), text: squash(el.innerText) || label,
            label: label, value: 'value' in el ? String(el.value) : '', checked: !!el.checked,
            focused: document.activeElement === el, point: p ? [p[0], p[1]] : null};
  });
}
"""
)


@dataclass(frozen=True)
class Node:
    id: str
    tag: str
    text: str
    label: str
    value: str
    checked: bool
    focused: bool
    point: tuple[int, int] | None


def nodes(page: Any, css: str) -> list[Node]:
    rows = page.evaluate(NODES_JS, css)
    return [Node(**{**r, "point": tuple(r["point"]) if r["point"] else None}) for r in rows]


def node(page: Any, css: str, text: str | None = None) -> Node | None:
    """The first node matching `css` (and with exactly `text`, when given) that can be clicked now."""
    for n in nodes(page, css):
        if n.point is not None and (text is None or n.text == text):
            return n
    return None


def quoted(instruction: str) -> list[str]:
    """The "double-quoted" parts of an instruction, in order."""
    return re.findall(r'"([^"]*)"', instruction)


def js(page: Any, expression: str, arg: Any = None) -> Any:
    return page.evaluate(expression, arg)


def click(target: Node | tuple[int, int], thought: str) -> str:
    point = target.point if isinstance(target, Node) else target
    assert point is not None, "click target has no clickable point"
    return format_response(Action("click", point), thought)


def type_text(text: str, thought: str) -> str:
    return format_response(Action("type", content=text), thought)


def hotkey(key: str, thought: str) -> str:
    return format_response(Action("hotkey", key=key), thought)


def wait(thought: str) -> str:
    return format_response(Action("wait"), thought)


def fill(page: Any, css: str, target: str, name: str) -> str | None:
    """The next action that makes the field `css` hold `target`; None once it does."""
    field = nodes(page, css)[0]
    if field.value == target:
        return None
    if not field.focused:
        if field.point is None:
            return wait(f"The {name} field is not reachable yet; I wait.")
        return click(field, f"I click the {name} field.")
    if field.value:
        return hotkey("ctrl a", f"The {name} field holds other text; I select it to replace it.")
    return type_text(target, f'I type "{target}" into the {name} field.')
