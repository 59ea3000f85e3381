"""Calculator: a pocket calculator with immediate execution (2 + 3 * 4 = 20), like the desktop ones.

Buttons or the keyboard (digits, + - * /, Enter or =, Escape clears, BackSpace deletes a digit); the
Edit menu copies the display to the clipboard. Every `=` is recorded in the history ("58 + 27 = 85").
"""

from __future__ import annotations

import tkinter as tk
from typing import Any

from .base import App
from .spec import KEY_NAMES, OPERATORS, format_number

KEYS = (("C", "Del", "+/-", "/"), ("7", "8", "9", "*"), ("4", "5", "6", "-"), ("1", "2", "3", "+"),
        ("0", ".", "="))  # fmt: skip


class Calculator(App):
    name = "calculator"
    title = "Calculator"

    def build(self, init: dict[str, Any]) -> None:
        self.display = tk.StringVar(self.root, value="0", name="display")
        self.acc: float | None = None
        self.op: str | None = None
        self.fresh = True  # the next digit starts a new number
        self.tokens: list[str] = []  # the expression typed since the last "=", for the history
        self.typed = ""  # the keys pressed since the last "=" or C
        self.history: list[str] = []
        bar = self.menubar(self.root)
        m = self.menu(bar, "Edit")
        m.add_command(label="Copy", accelerator="Ctrl+C", command=self.copy)
        m.add_command(label="Clear", command=lambda: self.press("C"))
        big = ("DejaVu Sans", -round(self.layout.font_px * 1.6))
        tk.Label(self.root, textvariable=self.display, name="display", anchor="e", font=big, relief="sunken",
                 bg="#f8f8f0").pack(side="top", fill="x", padx=3, pady=2)  # fmt: skip
        grid = tk.Frame(self.root, name="keys")
        grid.pack(fill="both", expand=True, padx=3, pady=2)
        for r, row in enumerate(KEYS):
            grid.rowconfigure(r, weight=1)
            for c, key in enumerate(row):
                grid.columnconfigure(c, weight=1, uniform="keys")
                b = tk.Button(
                    grid, text=key, name=f"key_{KEY_NAMES.get(key, key)}", command=lambda k=key: self.press(k)
                )
                b.grid(row=r, column=c, columnspan=2 if key == "=" else 1, sticky="nsew", padx=1, pady=1)
        for key in "0123456789+-*/.=":
            self.root.bind(key if key.isdigit() else f"<Key-{_keysym(key)}>", lambda _e, k=key: self.press(k))
        self.root.bind("<Return>", lambda _e: self.press("="))
        self.root.bind("<KP_Enter>", lambda _e: self.press("="))
        self.root.bind("<Escape>", lambda _e: self.press("C"))
        self.root.bind("<BackSpace>", lambda _e: self.press("Del"))
        self.root.bind("<Control-c>", lambda _e: self.copy())

    def copy(self) -> None:
        self.root.clipboard_clear()
        self.root.clipboard_append(self.display.get())

    def press(self, key: str) -> None:
        self.typed = "" if key in ("C", "=") else self.typed + key
        shown = self.display.get()
        if key.isdigit() or key == ".":
            if self.fresh or shown in ("0", "Error"):
                shown = "0." if key == "." else key
            elif not (key == "." and "." in shown):
                shown += key
            self.display.set(shown)
            self.fresh = False
        elif key == "C":
            self.display.set("0")
            self.acc, self.op, self.fresh, self.tokens = None, None, True, []
        elif key == "Del":
            self.display.set(shown[:-1] if len(shown) > 1 and not self.fresh else "0")
        elif key == "+/-":
            self.display.set(shown[1:] if shown.startswith("-") else ("-" + shown if shown != "0" else shown))
        elif key in OPERATORS:
            self._operator(key)
        elif key == "=":
            self._equals()

    def _operator(self, key: str) -> None:
        if self.op is not None and self.fresh:
            self.op, self.tokens[-1] = key, key  # changed their mind about the operator
            return
        if not self._apply():
            return
        self.tokens.append(key)
        self.op, self.fresh = key, True

    def _equals(self) -> None:
        if self.op is None or self.fresh:
            return
        if self._apply():
            self.history.append(f"{' '.join(self.tokens)} = {self.display.get()}")
        self.acc, self.op, self.fresh, self.tokens = None, None, True, []

    def _apply(self) -> bool:
        """Fold the displayed number into the accumulator; False (display 'Error') on division by zero."""
        shown = self.display.get()
        current = 0.0 if shown == "Error" else float(shown)
        self.tokens.append(format_number(current))
        if self.op is None:
            self.acc = current
            return True
        try:
            self.acc = OPERATORS[self.op](self.acc or 0.0, current)
        except ZeroDivisionError:
            self.display.set("Error")
            self.acc, self.op, self.fresh, self.tokens = None, None, True, []
            return False
        self.display.set(format_number(self.acc))
        return True

    def app_state(self) -> dict[str, Any]:
        return {
            "display": self.display.get(),
            "pending": self.op,
            "typed": self.typed,
            "history": list(self.history),
        }


def _keysym(ch: str) -> str:
    return {"+": "plus", "-": "minus", "*": "asterisk", "/": "slash", ".": "period", "=": "equal"}[ch]
