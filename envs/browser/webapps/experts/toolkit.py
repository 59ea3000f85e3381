"""What the web-app experts do on a page: click an element (scrolling to it when it is off screen), make a
text field hold a value, know which page they are on. Built on the MiniWoB experts' node reader, which gives
each element a point where a click really lands on it (`document.elementFromPoint` agrees).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from envs.actions import Action, format_response
from envs.browser.miniwob.experts.toolkit import click, hotkey, node, nodes, type_text, wait

# Where an element lies relative to the viewport, for an expert that must scroll to it.
WHERE_JS = """(css) => {
  const el = document.querySelector(css);
  if (!el) return null;
  const r = el.getBoundingClientRect();
  return r.bottom > innerHeight ? 'down' : (r.top < 0 ? 'up' : 'here');
}"""
# A text field's value, and whether all of it is selected (typing then replaces it).
FIELD_JS = """(css) => {
  const el = document.querySelector(css);
  return {value: el.value, selected: document.activeElement === el && el.selectionStart === 0 &&
          el.selectionEnd === el.value.length};
}"""


def path(page: Any) -> str:
    """The current page's path, e.g. "/cart"."""
    return urlsplit(page.url).path


def press(page: Any, css: str, thought: str, text: str | None = None) -> str:
    """Click the element `css` (with exactly `text`, when given); scroll toward it first if it is off screen."""
    target = node(page, css, text)
    if target is not None:
        return click(target, thought)
    where = page.evaluate(WHERE_JS, css)
    if where in ("down", "up"):
        centre = (page.viewport_size["width"] // 2, page.viewport_size["height"] // 2)
        return format_response(Action("scroll", centre, direction=where), f"I scroll {where} to find it.")
    return wait(f"I cannot reach {css} yet; I wait.")


def fill(page: Any, css: str, target: str, name: str) -> str | None:
    """The next action that makes the text field `css` hold exactly `target`; None once it does."""
    state = page.evaluate(FIELD_JS, css)
    if state["value"] == target:
        return None
    field = nodes(page, css)[0]
    if not field.focused:
        return press(page, css, f"I click the {name} field.")
    if state["value"] and not state["selected"]:
        return hotkey("ctrl a", f"The {name} field holds other text; I select all of it to replace it.")
    return type_text(target, f'I type "{target}" into the {name} field.')


def fill_all(page: Any, fields: list[tuple[str, str, str]]) -> str | None:
    """`fill` over (css, value, name) in order: the first field's next action, None when all hold theirs."""
    for css, value, name in fields:
        step = fill(page, css, value, name)
        if step is not None:
            return step
    return None
