"""The window-manager duties the env does itself, since the display runs no window manager.

Placement and raising are the apps' own business (tkapps/base.py: full-screen windows, centred dialogs,
the task bar raises apps). What is left is the keyboard: it goes to the top window, as with a
click-to-focus window manager where the newest dialog and the app brought to front take the focus.
Menus and the task bar are override-redirect and never take it.
"""

from __future__ import annotations

from envs.desktop.xconn import TopWindow, XConnection


def focus_target(stack: list[TopWindow]) -> TopWindow | None:
    """The window that should have the keyboard: the top one that is not override-redirect."""
    for w in reversed(stack):
        if not w.override:
            return w
    return None


def ensure_focus(conn: XConnection, stack: list[TopWindow]) -> bool:
    """Give the keyboard to the top window if something else has it; True when the focus moved."""
    target = focus_target(stack)
    if target is None:
        return False
    current = conn.focus()
    if current > 1 and conn.top_level_of(current) == target.wid:
        return False
    conn.set_focus(target.wid)
    return True
