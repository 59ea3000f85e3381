"""Experts for MiniWoB tasks that fill forms: typing into fields, then submitting."""

from __future__ import annotations

import re
from typing import Any

from envs.browser.miniwob.experts import expert
from envs.browser.miniwob.experts.toolkit import click, fill, hotkey, node, nodes, quoted, wait


def _submit(page: Any, css: str = "#subbtn", name: str = "Submit") -> str:
    button = node(page, css)
    if button is None:
        return wait(f"The {name} button is not reachable yet; I wait.")
    return click(button, f"Everything is entered; I click {name}.")


def _fill_all(
    page: Any, fields: list[tuple[str, str, str]], submit_css: str = "#subbtn", name: str = "Submit"
) -> str:
    """Fill (css, text, field name) in order, then click the submit button."""
    for css, text, field in fields:
        step = fill(page, css, text, field)
        if step is not None:
            return step
    return _submit(page, submit_css, name)


@expert("enter-text")
def enter_text(page: Any, instruction: str) -> str:
    return _fill_all(page, [("#tt", quoted(instruction)[0], "text")])


@expert("enter-text-2")
def enter_text_2(page: Any, instruction: str) -> str:
    text = quoted(instruction)[0]
    text = text.upper() if "upper case" in instruction else text.lower()
    return _fill_all(page, [("#tt", text, "text")])


@expert("enter-password")
def enter_password(page: Any, instruction: str) -> str:
    password = quoted(instruction)[0]
    return _fill_all(page, [("#password", password, "password"), ("#verify", password, "verify password")])


@expert("login-user")
def login_user(page: Any, instruction: str) -> str:
    user, password = quoted(instruction)[:2]
    return _fill_all(
        page, [("#username", user, "username"), ("#password", password, "password")], name="Login"
    )


@expert("simple-arithmetic")
def simple_arithmetic(page: Any, instruction: str) -> str:
    problem = page.evaluate("document.getElementById('math-problem').innerText")
    a, op, b = re.match(r"\s*(-?\d+)\s*([-+x])\s*(-?\d+)", problem).groups()
    answer = {"+": int(a) + int(b), "-": int(a) - int(b), "x": int(a) * int(b)}[op]
    return _fill_all(page, [("#math-answer", str(answer), "answer")])


@expert("use-autocomplete", "use-autocomplete-nodelay")
def use_autocomplete(page: Any, instruction: str) -> str:
    parts = quoted(instruction)
    start, end = parts[0], parts[1] if len(parts) > 1 else ""
    item = page.evaluate("([s, e]) => ITEMS.find((it) => it.startsWith(s) && it.endsWith(e))", [start, end])
    step = fill(page, "#tags", item, "tags")
    if step is not None:
        return step
    if node(page, "#subbtn") is None:  # the suggestion menu covers Submit: close it
        suggestion = node(page, "ul.ui-autocomplete li", item)
        if suggestion is not None:
            return click(suggestion, f'I pick "{item}" from the suggestions.')
        return hotkey("escape", "The suggestion menu is in the way; I close it.")
    return _submit(page)


@expert("choose-list")
def choose_list(page: Any, instruction: str) -> str:
    wanted = re.match(r"Select (.*) from the list and click Submit\.", instruction).group(1)
    select = nodes(page, "#options")[0]
    chosen = page.evaluate("(() => { const s = document.getElementById('options');"
                           " return s.options[s.selectedIndex].innerHTML; })()")  # fmt: skip
    if chosen != wanted:
        if not select.focused:
            return click(select, "I open the list.")
        return _type_to_select(wanted)
    return _submit(page, "#area button")


def _type_to_select(option: str) -> str:
    from envs.browser.miniwob.experts.toolkit import type_text

    # A focused <select> jumps to the option whose text starts with what is typed; Enter commits it.
    return type_text(option + "\n", f'I type "{option}" to pick it and press Enter.')
