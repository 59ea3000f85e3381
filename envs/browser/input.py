"""Every UI-TARS verb as real mouse and keyboard input at viewport coordinates (screenshot pixels).

Playwright's `page.mouse` / `page.keyboard` go through Chromium's input pipeline (Input.dispatch*Event),
so pages see trusted events with hover, focus, default actions and event order exactly as for a user; no
element handles or synthetic JS events are involved.
"""

from __future__ import annotations

from playwright.sync_api import Page

from envs.actions import Action
from envs.browser.keys import playwright_chord

DRAG_STEPS = 8  # intermediate mouse moves of a drag: drag-and-drop libraries need to see motion


def perform(page: Page, action: Action, scroll_px: int) -> None:
    """Do `action` on `page`. wait/finished do nothing here (the env handles them)."""
    verb, p = action.verb, action.start
    mouse = page.mouse
    if verb == "click":
        mouse.click(*p)
    elif verb == "left_double":
        mouse.dblclick(*p)
    elif verb == "right_single":
        mouse.click(*p, button="right")
    elif verb == "drag":
        mouse.move(*p)
        mouse.down()
        mouse.move(*action.end, steps=DRAG_STEPS)
        mouse.up()
    elif verb == "scroll":
        dx, dy = {"up": (0, -1), "down": (0, 1), "left": (-1, 0), "right": (1, 0)}[action.direction]
        mouse.move(*p)
        mouse.wheel(dx * scroll_px, dy * scroll_px)
    elif verb == "hotkey":
        page.keyboard.press(playwright_chord(action.key or ""))
    elif verb == "type":
        type_text(page, action.content or "")


def type_text(page: Page, text: str) -> None:
    """Type like a keyboard (key events per character); a trailing newline presses Enter, as in UI-TARS."""
    submit = text.endswith("\n")
    body = text[:-1] if submit else text
    for i, line in enumerate(body.split("\n")):
        if i:
            page.keyboard.press("Enter")
        if line:
            page.keyboard.type(line)
    if submit:
        page.keyboard.press("Enter")
