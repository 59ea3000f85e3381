"""One X protocol connection to the env's display: screenshots and the stacking order of top-level windows.

Screenshots are a single GetImage request on the root window (about 0.3 ms for 320x240 here), not a
subprocess per frame. The stacking order lets the env drop elements that another window covers, as a
person looking at the screen would not see them.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np
from Xlib import X, display, error

from envs.core.gui_env import EnvFault


@dataclass(frozen=True)
class TopWindow:
    """A mapped child of the root window (an app's top-level, a dialog, a posted menu)."""

    wid: int
    x: int
    y: int
    w: int
    h: int
    override: bool = False  # override-redirect: menus, the task bar; never given the keyboard

    def contains(self, px: int, py: int) -> bool:
        return self.x <= px < self.x + self.w and self.y <= py < self.y + self.h


class XConnection:
    def __init__(self, name: str) -> None:
        try:
            self.display = display.Display(name)
        except (error.DisplayError, error.ConnectionClosedError, OSError) as e:
            raise EnvFault(f"X server: cannot connect to {name}: {e}") from e
        self.root = self.display.screen().root
        geom = self.root.get_geometry()
        self.width, self.height = geom.width, geom.height

    def screenshot(self) -> np.ndarray:
        """The whole screen as (H, W, 3) uint8 RGB."""
        try:
            img = self.root.get_image(0, 0, self.width, self.height, X.ZPixmap, 0xFFFFFFFF)
        except (error.ConnectionClosedError, error.XError, OSError) as e:
            raise EnvFault(f"X server: screenshot failed: {e}") from e
        bgrx = np.frombuffer(img.data, np.uint8).reshape(self.height, self.width, 4)  # (H, W, BGRX)
        return np.ascontiguousarray(bgrx[:, :, 2::-1])  # (H, W, RGB)

    def stack(self) -> list[TopWindow]:
        """Viewable top-level windows, bottom to top."""
        out = []
        try:
            for w in self.root.query_tree().children:
                try:
                    attrs = w.get_attributes()
                    if attrs.map_state != X.IsViewable:
                        continue
                    g = w.get_geometry()
                except (error.BadWindow, error.BadDrawable):  # destroyed between the requests
                    continue
                size = (g.width + 2 * g.border_width, g.height + 2 * g.border_width)
                out.append(TopWindow(w.id, g.x, g.y, *size, override=bool(attrs.override_redirect)))
        except (error.ConnectionClosedError, OSError) as e:
            raise EnvFault(f"X server: connection lost: {e}") from e
        return out

    def top_level_of(self, wid: int) -> int | None:
        """The child of the root that contains window `wid` (Tk reports inner windows), or None if gone."""
        try:
            while wid != self.root.id:
                parent = self.display.create_resource_object("window", wid).query_tree().parent
                parent_id = parent if isinstance(parent, int) else parent.id
                if parent_id == self.root.id:
                    return wid
                if not parent_id:
                    return None
                wid = parent_id
            return None
        except (error.BadWindow, error.BadDrawable):
            return None
        except (error.ConnectionClosedError, OSError) as e:
            raise EnvFault(f"X server: connection lost: {e}") from e

    def window_class(self, wid: int) -> tuple[str, str]:
        """(WM_NAME, WM_CLASS class) of a top-level window, '' where unset."""
        try:
            w = self.display.create_resource_object("window", wid)
            name, cls = w.get_wm_name(), w.get_wm_class()
        except (error.BadWindow, error.BadDrawable):
            return "", ""
        return str(name or ""), (cls[1] if cls else "")

    def icon_name(self, wid: int) -> str:
        """WM_ICON_NAME of a top-level window ('' where unset or gone)."""
        try:
            w = self.display.create_resource_object("window", wid)
            prop = w.get_full_property(self.display.intern_atom("WM_ICON_NAME"), X.AnyPropertyType)
        except (error.BadWindow, error.BadDrawable):
            return ""
        if prop is None:
            return ""
        v = prop.value
        return v.decode("latin-1") if isinstance(v, bytes) else str(v)

    def focus(self) -> int:
        """Id of the window with the keyboard focus (0 for none, 1 for pointer-root)."""
        f = self.display.get_input_focus().focus
        return f if isinstance(f, int) else f.id

    def set_focus(self, wid: int) -> None:
        w = self.display.create_resource_object("window", wid)
        w.set_input_focus(X.RevertToPointerRoot, X.CurrentTime)
        self.sync()

    def sync(self) -> None:
        """Round trip: every request sent so far (input included) has been processed by the server."""
        try:
            self.display.sync()
        except (error.ConnectionClosedError, OSError) as e:
            raise EnvFault(f"X server: connection lost: {e}") from e

    def close(self) -> None:
        with contextlib.suppress(error.ConnectionClosedError, OSError):
            self.display.close()


def topmost_at(stack: list[TopWindow], x: int, y: int) -> int | None:
    """Id of the top-level window that shows at (x, y), or None for the bare root."""
    for w in reversed(stack):
        if w.contains(x, y):
            return w.wid
    return None
