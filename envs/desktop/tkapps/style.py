"""Look and layout shared by the apps: pixel-sized fonts scaled to the screen, compact widgets, two themes.

Font sizes are given in pixels (negative Tk sizes), so a screenshot does not depend on the server's DPI.
At the default 320x240 screen text is 11 px high: small, but legible to a policy looking at the pixels.
"""

from __future__ import annotations

import tkinter as tk
import tkinter.font as tkfont
from dataclasses import dataclass

from .spec import THEMES

PANEL_HEIGHT_FRACTION = 1 / 12  # the task bar's share of the screen height


@dataclass(frozen=True)
class Layout:
    """Where things go on a screen of `width` x `height` pixels."""

    width: int
    height: int

    @property
    def font_px(self) -> int:
        return max(9, min(16, round(self.height * 11 / 240)))

    @property
    def panel_height(self) -> int:
        return max(18, round(self.height * PANEL_HEIGHT_FRACTION))

    @property
    def app_geometry(self) -> str:
        """Every app window fills the screen above the task bar (there is no window manager to tile)."""
        return f"{self.width}x{self.height - self.panel_height}+0+0"

    @property
    def panel_geometry(self) -> str:
        return f"{self.width}x{self.panel_height}+0+{self.height - self.panel_height}"


def apply(root: tk.Tk, layout: Layout) -> None:
    """Fonts and compact widget defaults for every widget the app creates afterwards.

    The text cursor does not blink (insertOffTime 0): the same screen state always gives the same pixels.
    """
    px = layout.font_px
    for name in ("TkDefaultFont", "TkTextFont", "TkMenuFont", "TkHeadingFont", "TkCaptionFont"):
        tkfont.nametofont(name, root).configure(family="DejaVu Sans", size=-px)
    tkfont.nametofont("TkFixedFont", root).configure(family="DejaVu Sans Mono", size=-px)
    for opt, value in (("*Button.padY", 0), ("*Button.padX", 4), ("*Menubutton.padY", 1),
                       ("*Menubutton.padX", 5), ("*highlightThickness", 0), ("*Entry.relief", "sunken"),
                       ("*Checkbutton.padY", 0), ("*Menu.tearOff", 0), ("*insertOffTime", 0)):  # fmt: skip
        root.option_add(opt, value)


def paint(widget: tk.Misc, theme: str) -> None:
    """Recolour `widget` and its descendants in `theme` (the to-do app's View > Theme)."""
    colours = THEMES[theme]
    stack = [widget]
    while stack:
        w = stack.pop()
        stack.extend(w.winfo_children())
        cls = w.winfo_class()
        keys = w.keys()
        field = cls in ("Entry", "Text", "Listbox")
        for key, colour in (("background", colours["field"] if field else colours["bg"]),
                            ("foreground", colours["fg"]), ("activebackground", colours["select"]),
                            ("selectcolor", colours["field"]), ("insertbackground", colours["fg"]),
                            ("selectbackground", colours["select"])):  # fmt: skip
            if key in keys and not (cls == "Menu" and key in ("activebackground", "selectcolor")):
                w.configure(**{key: colour})
