"""The element list an app reports: its viewable interactive widgets with their boxes in screen pixels.

A walk over the widget tree, as an accessibility API would do: buttons, text fields, check and radio
buttons, menu buttons, labels, the rows of list boxes and the entries of posted menus. Each element names
the X window of its top-level (`frame`), so the env can drop what another window covers.
"""

from __future__ import annotations

import tkinter as tk
from typing import Any

ROLES = {
    "Button": "button", "Entry": "textbox", "Text": "textbox", "Checkbutton": "checkbox",
    "Radiobutton": "radio", "Menubutton": "menu", "Label": "text", "Spinbox": "spinbox", "Scale": "slider",
}  # fmt: skip
TEXT_LIMIT = 200  # characters of a text field's value in the report (the full value is in the app state)

_labels: dict[str, str] = {}  # widget path -> accessible label of a widget without visible text (entries)


def label(widget: tk.Misc, text: str) -> None:
    """Give a widget without visible text (an entry, a text area) the label an accessibility API would."""
    _labels[str(widget)] = text


def collect(root: tk.Misc) -> list[dict[str, Any]]:
    """Viewable elements in the order a reader meets them (depth first, top-level by top-level)."""
    out: list[dict[str, Any]] = []
    stack = [root]
    while stack:
        w = stack.pop()
        stack.extend(reversed(list(w.winfo_children())))
        cls = w.winfo_class()
        if cls == "Menu":
            if w.winfo_ismapped():
                out.extend(_menu_entries(w))
            continue
        if not w.winfo_viewable():
            continue
        if cls == "Listbox":
            out.extend(_listbox_rows(w))
        elif cls in ROLES:
            element = _widget(w, cls)
            if element is not None:
                out.append(element)
    return out


def _box(w: tk.Misc) -> tuple[int, int, int, int]:
    return w.winfo_rootx(), w.winfo_rooty(), w.winfo_width(), w.winfo_height()


def _frame(w: tk.Misc) -> int:
    top = w if w.winfo_class() == "Menu" else w.winfo_toplevel()
    return int(top.winfo_id())


def _clip(box: tuple[int, int, int, int], w: tk.Misc) -> tuple[int, int, int, int] | None:
    """`box` cut to the visible area of `w`'s top-level; None when nothing of it shows."""
    top = w.winfo_toplevel()
    tx, ty, tw, th = _box(top)
    x0, y0 = max(box[0], tx), max(box[1], ty)
    x1, y1 = min(box[0] + box[2], tx + tw), min(box[1] + box[3], ty + th)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    return x0, y0, x1 - x0, y1 - y0


def _element(w: tk.Misc, role: str, text: str, box: tuple[int, int, int, int], value: str = "",
             suffix: str = "") -> dict[str, Any]:  # fmt: skip
    return {"name": w.winfo_name() + suffix, "path": str(w) + suffix, "role": role, "text": text,
            "x": box[0], "y": box[1], "w": box[2], "h": box[3], "value": value, "frame": _frame(w),
            "disabled": _has(w, "state") and str(w.cget("state")) == "disabled"}  # fmt: skip


def _has(w: tk.Misc, option: str) -> bool:
    return option in set(w.keys())


def _text_of(w: tk.Misc) -> str:
    var = str(w.cget("textvariable")) if _has(w, "textvariable") else ""
    return str(w.getvar(var)) if var else str(w.cget("text"))


def _widget(w: tk.Misc, cls: str) -> dict[str, Any] | None:
    box = _clip(_box(w), w)
    if box is None:
        return None
    role, text, value = ROLES[cls], "", ""
    if cls in ("Entry", "Spinbox"):
        text, value = _labels.get(str(w), ""), w.get()
    elif cls == "Text":
        text, value = _labels.get(str(w), ""), w.get("1.0", "end-1c")[:TEXT_LIMIT]
    elif cls == "Scale":
        text, value = str(w.cget("label")), str(w.get())
    else:
        text = _text_of(w)
        if cls == "Checkbutton":
            value = "checked" if str(w.getvar(str(w.cget("variable")))) == str(w.cget("onvalue")) else ""
        elif cls == "Radiobutton":
            value = "selected" if str(w.getvar(str(w.cget("variable")))) == str(w.cget("value")) else ""
    if cls == "Label" and not text.strip():
        return None
    return _element(w, role, text, box, value)


def _listbox_rows(w: tk.Listbox) -> list[dict[str, Any]]:
    out = []
    x, _, width, _ = _box(w)
    size = w.size()
    i = w.nearest(0)
    while 0 <= i < size:
        bbox = w.bbox(i)
        if not bbox or bbox[1] >= w.winfo_height():
            break
        box = _clip((x + 2, w.winfo_rooty() + bbox[1], width - 4, bbox[3] + 1), w)
        if box is not None:
            value = "selected" if w.selection_includes(i) else ""
            out.append(_element(w, "option", str(w.get(i)), box, value, suffix=f"#{i}"))
        i += 1
    return out


def _menu_entries(m: tk.Menu) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    last = m.index("end")
    if last is None:
        return out
    x, y, width, height = _box(m)
    for i in range(last + 1):
        kind = m.type(i)
        if kind in ("separator", "tearoff"):
            continue
        top = m.yposition(i)
        bottom = m.yposition(i + 1) if i < last else height
        value = ""
        if kind in ("checkbutton", "radiobutton"):
            var = str(m.entrycget(i, "variable"))
            on = m.entrycget(i, "onvalue" if kind == "checkbutton" else "value")
            value = (
                ("checked" if kind == "checkbutton" else "selected") if str(m.getvar(var)) == str(on) else ""
            )
        role = {"checkbutton": "menuitemcheckbox", "radiobutton": "menuitemradio"}.get(kind, "menuitem")
        box = (x, y + top, width, max(2, bottom - top))
        element = _element(m, role, str(m.entrycget(i, "label")), box, value, suffix=f"#{i}")
        element["disabled"] = str(m.entrycget(i, "state")) == "disabled"
        out.append(element)
    return out
