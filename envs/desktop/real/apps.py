"""The real applications: how each starts, what it needs in HOME first, and where its window goes.

No X or AT-SPI imports here (tasks import it). `AppLaunch.args` are the app's arguments (paths relative to
the episode HOME); `place` is the window's box in screen fractions, given to the window manager
(openbox, one rule per app, written per episode by wm_config).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

XTERM = "xterm"


@dataclass(frozen=True)
class RealApp:
    name: str  # our name for it, the task ids' <app>; also its AT-SPI application name
    argv: tuple[str, ...]
    wm_name: str  # WM_CLASS res_name, for the window-manager rule
    title: str  # a human name for fault messages and the axtree
    env: tuple[tuple[str, str], ...] = ()


APPS: dict[str, RealApp] = {
    a.name: a
    for a in (
        RealApp("mousepad", ("mousepad", "--disable-server"), "mousepad", "Mousepad"),
        RealApp("gnumeric", ("gnumeric", "--no-splash"), "gnumeric", "Gnumeric"),
        RealApp("galculator", ("galculator",), "galculator", "galculator"),
        # GTK2: the accessibility bridge is a module GTK must be told to load
        RealApp(
            "pcmanfm",
            ("pcmanfm", "--no-desktop"),
            "pcmanfm",
            "PCManFM",
            (("GTK_MODULES", "gail:atk-bridge"),),
        ),
        RealApp(XTERM, ("xterm",), "xterm", "Terminal"),
    )
}


@dataclass(frozen=True)
class AppLaunch:
    """An app open when the episode starts, its arguments and its window's box (fractions of the screen)."""

    name: str
    args: tuple[str, ...] = ()
    place: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0)


LEFT = (0.0, 0.0, 0.6, 1.0)
RIGHT = (0.6, 0.0, 0.4, 1.0)


def write_app_config(home: Path) -> None:
    """Settings the apps read from HOME at start-up: the file manager in list view (its rows are then
    named table cells in the accessibility tree; icon-view items are anonymous), deleting without trash
    or confirmation; galculator not restoring a last display."""
    files = {
        ".config/pcmanfm/default/pcmanfm.conf": "[ui]\nview_mode=list\nshow_statusbar=1\nside_pane_mode=hidden\n"
        "always_show_tabs=0\n\n[volume]\nmount_on_startup=0\nmount_removable=0\nautorun=0\n",
        ".config/libfm/libfm.conf": "[config]\nsingle_click=0\nuse_trash=0\nconfirm_del=0\nconfirm_trash=0\n"
        "show_internal_volumes=0\n[ui]\nshow_hidden=0\n",
        ".config/galculator/galculator.conf": "[general]\nrem_display=false\n",
    }
    for rel, text in files.items():
        path = home / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def wm_config(apps: list[AppLaunch], screen: tuple[int, int]) -> str:
    """openbox rc.xml: no decorations, each app's normal window at its box, new windows get the keyboard."""
    rules = []
    for a in apps:
        x, y, w, h = a.place
        sw, sh = screen
        rules.append(
            f'<application name="{APPS[a.name].wm_name}" type="normal"><decor>no</decor><maximized>no</maximized>'
            f'<position force="yes"><x>{round(x * sw)}</x><y>{round(y * sh)}</y></position>'
            f"<size><width>{round(w * sw)}</width><height>{round(h * sh)}</height></size></application>"
        )
    return (
        '<?xml version="1.0"?><openbox_config xmlns="http://openbox.org/3.4/rc">'
        "<focus><focusNew>yes</focusNew><followMouse>no</followMouse></focus>"
        "<placement><policy>Smart</policy><center>yes</center></placement>"
        "<desktops><number>1</number></desktops><margins><top>0</top><bottom>0</bottom><left>0</left><right>0</right></margins>"
        "<mouse></mouse>"  # no bindings: openbox's grab swallowed XTEST clicks; the env focuses (desktop.py)
        f"<applications>{''.join(rules)}</applications></openbox_config>"
    )


START_TIME = 1_767_268_800  # 2026-01-01 12:00 UTC: every start file's mtime and atime


def pin_times(home: Path) -> None:
    """Give HOME and everything in it one fixed time: the file manager's list view shows each file's
    Modified time, so files written at reset made a seed's first screen depend on the minute it started."""
    for path in [home, *home.rglob("*")]:
        os.utime(path, (START_TIME, START_TIME), follow_symlinks=False)
