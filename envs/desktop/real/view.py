"""What the real-app env observes after a step: the accessibility tree, read into elements and windows.

    elements   visible, actionable nodes (the policy's element list: role, name, centre), top window first
    windows    each app's top-level windows (frames, dialogs, alerts) with their X stacking order
    front      the app whose window is active (has the keyboard)

An element is visible when its centre is on the screen and the top-level X window there is its own (menus
and combo-box lists open in override-redirect popups: their items are checked against those).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from Xlib import error

from envs.desktop.real.apps import APPS, XTERM
from envs.desktop.real.atspi import Node, Tree
from envs.desktop.xconn import TopWindow, XConnection, topmost_at

ROLES = {  # AT-SPI role -> the element list's role (the words the browser and Tk lists use)
    "push button": "button", "toggle button": "button", "text": "textbox", "password text": "textbox",
    "entry": "textbox", "check box": "checkbox", "radio button": "radio", "combo box": "combobox",
    "menu item": "menuitem", "check menu item": "menuitem", "radio menu item": "menuitem", "menu": "menu",
    "table cell": "cell", "page tab": "tab", "list item": "option", "spin button": "spinbox",
    "slider": "slider", "link": "link", "tree item": "option", "window": "window",
}  # fmt: skip
NAMED_ONLY = {"cell", "option", "menuitem", "menu", "tab", "button"}  # left out when they have no name
WINDOW_ROLES = {"frame", "dialog", "alert", "file chooser", "window"}


@dataclass(frozen=True)
class Window:
    app: str
    role: str
    name: str
    x: int
    y: int
    w: int
    h: int
    active: bool
    layer: int  # position in the X stack, higher is on top (-1: not matched to an X window)


@dataclass(frozen=True)
class RealElement:
    app: str
    role: str  # the element list's role
    text: str
    x: int
    y: int
    w: int
    h: int
    value: str = ""
    node: Node | None = None  # the accessible it came from (None for a window without AT-SPI: xterm)
    window: str = ""  # name of its top-level window

    @property
    def center(self) -> tuple[int, int]:
        return self.x + self.w // 2, self.y + self.h // 2


@dataclass
class RealView:
    home: Path
    nodes: list[Node] = field(default_factory=list)
    elements: list[RealElement] = field(default_factory=list)
    windows: list[Window] = field(default_factory=list)
    front: str | None = None

    def find(self, app: str | None = None, role: str | None = None, text: str | None = None,
             window: str | None = None, prefix: str | None = None) -> RealElement | None:  # fmt: skip
        """The first visible element matching every field given (`text` exactly, `prefix` as a start)."""
        for e in self.elements:
            if (app is None or e.app == app) and (role is None or e.role == role) and (
                text is None or e.text == text) and (window is None or window in e.window) and (
                prefix is None or e.text.startswith(prefix)):  # fmt: skip
                return e
        return None

    def nodes_of(self, app: str, role: str | None = None) -> list[Node]:
        return [n for n in self.nodes if n.app == app and (role is None or n.role == role)]

    def window(self, app: str, role: str | None = None, name_has: str = "") -> Window | None:
        for w in sorted(self.windows, key=lambda w: -w.layer):
            if w.app == app and (role is None or w.role == role) and name_has in w.name:
                return w
        return None

    def active_window(self) -> Window | None:
        return next((w for w in self.windows if w.active), None)

    def alerts(self) -> list[Window]:
        return [w for w in self.windows if w.role == "alert"]


def _near(w: TopWindow, n: Node, slack: int = 3) -> bool:
    return (
        abs(w.x - n.x) <= slack
        and abs(w.y - n.y) <= slack
        and abs(w.w - n.w) <= slack
        and abs(w.h - n.h) <= slack
    )


def build_view(home: Path, tree: Tree, stack: list[TopWindow], apps: dict[str, subprocess.Popen[bytes]],
               x: XConnection) -> RealView:  # fmt: skip
    view = RealView(home=home, nodes=tree.nodes)
    layer_of = {w.wid: i for i, w in enumerate(stack)}
    matched: set[int] = set()
    found: list[tuple[int, int, RealElement]] = []
    top: Node | None = None
    top_wid: int | None = None
    ancestors: list[Node] = []  # the current node's ancestors, by depth
    titles: dict[int, str] = {}
    for n in tree.nodes:
        del ancestors[n.depth :]
        ancestors.append(n)
        if n.depth == 0:
            continue
        if n.depth == 1:
            top = n
            near = [w.wid for w in stack if not w.override and _near(w, n)] if n.has("s") else []
            # same-sized windows (a dialog as big as its frame): tell them apart by title
            top_wid = next((wid for wid in near if len(near) == 1 or titles.setdefault(wid, _title(x, wid)) == n.name),
                           near[-1] if near else None)  # fmt: skip
            if top_wid is not None:
                matched.add(top_wid)
            if n.role in WINDOW_ROLES and n.has("s") and n.w > 0:
                layer = layer_of.get(top_wid, -1) if top_wid is not None else -1
                view.windows.append(Window(n.app, n.role, n.name, n.x, n.y, n.w, n.h, n.has("A"), layer))
            continue
        role = ROLES.get(n.role)
        if role is None or top is None or not (n.has("s") and n.has("v")) or n.w <= 0 or n.h <= 0:
            continue
        if role in NAMED_ONLY and not n.name.strip():
            continue
        cx, cy = n.center
        if not (0 <= cx < x.width and 0 <= cy < x.height):
            continue
        at = topmost_at(stack, cx, cy)
        # items of an open menu or combo-box list live in an override-redirect popup, not in their frame
        in_popup = any(a.role in ("menu", "combo box") for a in ancestors[2:-1])
        ok = (
            (at is not None and any(w.wid == at and w.override for w in stack)) if in_popup else at == top_wid
        )
        if not ok:
            continue
        value = n.text[:200] if role in ("textbox", "combobox", "spinbox") else ""
        element = RealElement(n.app, role, " ".join(n.name.split()), n.x, n.y, n.w, n.h, value, n, top.name)
        found.append((-(layer_of.get(at, 0) if at is not None else 0), len(found), element))
    focus_top = x.top_level_of(x.focus()) if x.focus() > 1 else None
    for w in stack:  # windows without AT-SPI (xterm): one element each
        if w.wid in matched or w.override:
            continue
        title, cls = x.window_class(w.wid)
        if cls.lower() == XTERM and XTERM in apps:
            found.append((-layer_of[w.wid], len(found), RealElement(XTERM, "window", title or "Terminal",
                                                                    w.x, w.y, w.w, w.h)))  # fmt: skip
            view.windows.append(Window(XTERM, "frame", title, w.x, w.y, w.w, w.h, focus_top == w.wid,
                                       layer_of[w.wid]))  # fmt: skip
    view.elements = [e for _, _, e in sorted(found, key=lambda t: (t[0], t[1]))]
    active = view.active_window()
    view.front = active.app if active else None
    return view


def client_of(x: XConnection, wid: int) -> int | None:
    """The app's own window in a top-level: itself, or the child the window manager framed (has WM_NAME)."""
    if x.window_class(wid)[0]:
        return wid
    try:
        children = x.display.create_resource_object("window", wid).query_tree().children
    except (error.BadWindow, error.BadDrawable):  # gone meanwhile
        return None
    return next((c.id for c in children if x.window_class(c.id)[0]), None)


def _title(x: XConnection, wid: int) -> str:
    """WM_NAME of a top-level window or of the client window the window manager framed in it."""
    client = client_of(x, wid)
    return x.window_class(client)[0] if client is not None else ""


def title_of(app: str) -> str:
    return APPS[app].title if app in APPS else app
