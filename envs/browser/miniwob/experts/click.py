"""Experts for MiniWoB tasks solved by clicking: buttons, links, tabs, dialogs, widgets, focus."""

from __future__ import annotations

import re
from typing import Any

from envs.browser.miniwob.experts import expert
from envs.browser.miniwob.experts.toolkit import click, node, nodes, quoted, wait

_ORDINALS = {"1st": 0, "2nd": 1, "3rd": 2}


def _click_or_wait(target: Any, thought: str, what: str) -> str:
    return click(target, thought) if target is not None else wait(f"I cannot see {what} yet; I wait.")


@expert("click-button")
def click_button(page: Any, instruction: str) -> str:
    label = quoted(instruction)[0]
    return _click_or_wait(node(page, "#area button", label), f'I click the "{label}" button.', "the button")


@expert("click-test")
def click_test(page: Any, instruction: str) -> str:
    return _click_or_wait(node(page, "#subbtn"), "I click the button.", "the button")


@expert("click-test-2")
def click_test_2(page: Any, instruction: str) -> str:
    # TWO may lie over ONE: node() only returns a point where ONE itself is hit.
    return _click_or_wait(node(page, "#subbtn"), "I click button ONE where TWO does not cover it.", "ONE")


@expert("click-button-sequence")
def click_button_sequence(page: Any, instruction: str) -> str:
    pushed = page.evaluate("buttonsPushed.length")
    target, name = ("#subbtn", "ONE") if pushed == 0 else ("#subbtn2", "TWO")
    return _click_or_wait(node(page, target), f"I click button {name}.", f"button {name}")


@expert("click-link")
def click_link(page: Any, instruction: str) -> str:
    word = quoted(instruction)[0]
    return _click_or_wait(node(page, "#area span.alink", word), f'I click the link "{word}".', "the link")


@expert("click-tab")
def click_tab(page: Any, instruction: str) -> str:
    n = re.search(r"Tab #(\d)", instruction).group(1)
    tab = node(page, f'#area ul a[href="#tabs-{n}"]')
    return _click_or_wait(tab, f"I click Tab #{n}.", "the tab")


@expert("click-tab-2")
def click_tab_2(page: Any, instruction: str) -> str:
    word = quoted(instruction)[0]
    link = node(page, "#area span.alink", word)
    if link is not None:
        return click(link, f'The link "{word}" is on this tab; I click it.')
    tab_index = page.evaluate(
        """(word) => {
             const panels = Array.from(document.querySelectorAll('#area > div[id^="tabs-"]'));
             return panels.findIndex((p) => Array.from(p.querySelectorAll('span.alink'))
               .some((s) => s.innerText.trim() === word));
           }""",
        word,
    )
    tab = node(page, f'#area ul a[href="#tabs-{tab_index + 1}"]')
    return _click_or_wait(tab, f'The link "{word}" is on Tab #{tab_index + 1}; I open that tab.', "the tab")


@expert("click-dialog")
def click_dialog(page: Any, instruction: str) -> str:
    close = node(page, ".ui-dialog-titlebar-close")
    return _click_or_wait(close, 'I close the dialog with its "x".', "the dialog's close button")


@expert("click-dialog-2")
def click_dialog_2(page: Any, instruction: str) -> str:
    label = quoted(instruction)[0]
    if label == "x":
        target = node(page, ".ui-dialog-titlebar-close")
    else:
        target = node(page, ".ui-dialog-buttonpane button", label)
    return _click_or_wait(target, f'I click the dialog button "{label}".', "the button")


@expert("click-collapsible")
def click_collapsible(page: Any, instruction: str) -> str:
    header = nodes(page, "#area h3")[0]
    if page.evaluate("$('.ui-accordion-content:visible').length") == 0:
        return _click_or_wait(header, "The section is collapsed; I expand it.", "the section header")
    return _click_or_wait(node(page, "#subbtn"), "The section is open; I click Submit.", "Submit")


@expert("click-widget")
def click_widget(page: Any, instruction: str) -> str:
    kind = quoted(instruction)[0]
    widget = node(page, f'#area .widget [data-type="{kind}"]')
    return _click_or_wait(widget, f"I click the {kind} widget.", f"a {kind} widget")


@expert("click-option")
def click_option(page: Any, instruction: str) -> str:
    name = re.match(r"Select (.*) and click Submit\.", instruction).group(1)
    radio = next((n for n in nodes(page, "#boxes input[type=radio]") if n.label == name), None)
    if radio is not None and not radio.checked:
        return _click_or_wait(radio, f'I select the option "{name}".', "the option")
    return _click_or_wait(node(page, "#subbtn"), "The option is selected; I click Submit.", "Submit")


@expert("click-checkboxes", "click-checkboxes-large", "click-checkboxes-transfer")
def click_checkboxes(page: Any, instruction: str) -> str:
    listed = re.match(r"Select (.*) and click Submit\.", instruction).group(1)
    wanted = set() if listed == "nothing" else set(listed.split(", "))
    for box in nodes(page, "#area input[type=checkbox]"):
        if (box.label in wanted) != box.checked:
            verb = "tick" if not box.checked else "untick"
            return _click_or_wait(box, f'I {verb} "{box.label}".', f'the "{box.label}" checkbox')
    return _click_or_wait(node(page, "#subbtn"), "The right boxes are ticked; I click Submit.", "Submit")


@expert("focus-text")
def focus_text(page: Any, instruction: str) -> str:
    return _click_or_wait(node(page, "#tt"), "I click into the text box.", "the text box")


@expert("focus-text-2")
def focus_text_2(page: Any, instruction: str) -> str:
    nth = re.search(r"the (\w+) input", instruction).group(1)
    box = nodes(page, "#area input")[_ORDINALS[nth]]
    return _click_or_wait(box if box.point else None, f"I click into the {nth} text box.", "the text box")
