"""Real input through the XTEST extension: the apps receive the same events a person's mouse and keyboard make.

Typing maps each character to a keycode of the server's keyboard map (with Shift where needed); characters
the map lacks are bound to a spare keycode first, as xdotool does. Hotkeys take UI-TARS key names
("ctrl s", "ctrl+shift+z", "enter", "pagedown", "f5").
"""

from __future__ import annotations

from Xlib import XK, X, error
from Xlib.ext import xtest

from envs.actions import ActionError
from envs.core.gui_env import EnvFault
from envs.desktop.xconn import XConnection

# UI-TARS / xdotool / pyautogui key names -> X keysym names
KEY_ALIASES = {
    "ctrl": "Control_L", "control": "Control_L", "shift": "Shift_L", "alt": "Alt_L", "meta": "Meta_L",
    "super": "Super_L", "win": "Super_L", "cmd": "Super_L", "enter": "Return", "return": "Return",
    "esc": "Escape", "escape": "Escape", "backspace": "BackSpace", "delete": "Delete", "del": "Delete",
    "tab": "Tab", "space": "space", "up": "Up", "down": "Down", "left": "Left", "right": "Right",
    "home": "Home", "end": "End", "pageup": "Prior", "pagedown": "Next", "insert": "Insert",
    "capslock": "Caps_Lock", "plus": "plus", "minus": "minus",
}  # fmt: skip
_CHAR_KEYSYMS = {"\n": "Return", "\t": "Tab", " ": "space"}
BUTTONS = {"left": 1, "middle": 2, "right": 3}
SCROLL_BUTTONS = {"up": 4, "down": 5, "left": 6, "right": 7}


class XInput:
    def __init__(self, conn: XConnection, scroll_clicks: int = 3) -> None:
        self.conn = conn
        self.d = conn.display
        self.scroll_clicks = scroll_clicks
        self._keymap: dict[int, tuple[int, bool]] = {}  # keysym -> (keycode, needs shift)
        self._spare: list[int] = []
        self._load_keymap()
        self._shift = self._keymap[XK.string_to_keysym("Shift_L")][0]

    def _load_keymap(self) -> None:
        first = self.d.display.info.min_keycode
        count = self.d.display.info.max_keycode - first + 1
        for i, syms in enumerate(self.d.get_keyboard_mapping(first, count)):
            code = first + i
            if not any(syms):
                self._spare.append(code)
            for level, sym in enumerate(syms[:2]):
                if sym and sym not in self._keymap:
                    self._keymap[sym] = (code, level == 1)

    # -- mouse ------------------------------------------------------------------------------------------
    def move(self, x: int, y: int) -> None:
        xtest.fake_input(self.d, X.MotionNotify, x=x, y=y)

    def click(self, x: int, y: int, button: str = "left", count: int = 1) -> None:
        self.move(x, y)
        for _ in range(count):
            xtest.fake_input(self.d, X.ButtonPress, BUTTONS[button])
            xtest.fake_input(self.d, X.ButtonRelease, BUTTONS[button])
        self.conn.sync()

    def drag(self, start: tuple[int, int], end: tuple[int, int], steps: int = 8) -> None:
        self.move(*start)
        xtest.fake_input(self.d, X.ButtonPress, 1)
        self.conn.sync()
        for i in range(1, steps + 1):
            self.move(
                start[0] + (end[0] - start[0]) * i // steps, start[1] + (end[1] - start[1]) * i // steps
            )
            self.conn.sync()
        xtest.fake_input(self.d, X.ButtonRelease, 1)
        self.conn.sync()

    def scroll(self, x: int, y: int, direction: str) -> None:
        self.move(x, y)
        for _ in range(self.scroll_clicks):
            xtest.fake_input(self.d, X.ButtonPress, SCROLL_BUTTONS[direction])
            xtest.fake_input(self.d, X.ButtonRelease, SCROLL_BUTTONS[direction])
        self.conn.sync()

    # -- keyboard ---------------------------------------------------------------------------------------
    def type_text(self, text: str) -> None:
        for ch in text:
            code, shift = self._code_for(_char_keysym(ch))
            self._tap(code, [self._shift] if shift else [])
        self.conn.sync()

    def hotkey(self, spec: str) -> None:
        """Press the keys of `spec` ("ctrl s", "ctrl+shift+z", "Return") together, then release them."""
        names = [n for n in spec.replace("+", " ").split() if n] if spec.strip() != "+" else ["plus"]
        if not names:
            raise ActionError("hotkey needs at least one key name")
        codes = []
        for name in names:
            code, shift = self._code_for(_name_keysym(name))
            if shift and self._shift not in codes:
                codes.append(self._shift)
            codes.append(code)
        for c in codes:
            xtest.fake_input(self.d, X.KeyPress, c)
        for c in reversed(codes):
            xtest.fake_input(self.d, X.KeyRelease, c)
        self.conn.sync()

    def _tap(self, code: int, modifiers: list[int]) -> None:
        for m in modifiers:
            xtest.fake_input(self.d, X.KeyPress, m)
        xtest.fake_input(self.d, X.KeyPress, code)
        xtest.fake_input(self.d, X.KeyRelease, code)
        for m in reversed(modifiers):
            xtest.fake_input(self.d, X.KeyRelease, m)

    def _code_for(self, keysym: int) -> tuple[int, bool]:
        if keysym in self._keymap:
            return self._keymap[keysym]
        if not self._spare:
            raise ActionError(f"no spare keycode to type keysym {keysym:#x}")
        code = self._spare.pop(0)
        self._spare.append(code)  # spare keycodes are reused round robin
        for old in [k for k, (c, _) in self._keymap.items() if c == code]:
            del self._keymap[old]
        try:
            self.d.change_keyboard_mapping(code, [(keysym, keysym)])
            self.conn.sync()
        except error.XError as e:
            raise EnvFault(f"X server: cannot remap keycode {code}: {e}") from e
        self._keymap[keysym] = (code, False)
        return code, False


def _char_keysym(ch: str) -> int:
    if ch in _CHAR_KEYSYMS:
        return XK.string_to_keysym(_CHAR_KEYSYMS[ch])
    o = ord(ch)
    if 0x20 <= o <= 0x7E or 0xA0 <= o <= 0xFF:
        return o  # Latin-1 keysyms equal their code points
    if o < 0x20 or o == 0x7F:
        raise ActionError(f"cannot type the control character {ch!r}; use hotkey()")
    return 0x01000000 | o  # X's Unicode keysyms


def _name_keysym(name: str) -> int:
    alias = KEY_ALIASES.get(name.lower())
    if alias:
        return XK.string_to_keysym(alias)
    if len(name) == 1:
        return _char_keysym(name.lower() if name.isalpha() else name)
    for candidate in (name, name.capitalize(), name.upper()):
        sym = XK.string_to_keysym(candidate)
        if sym:
            return sym
    raise ActionError(f"unknown key '{name}' in hotkey; e.g. hotkey(key='ctrl s'), 'enter', 'pagedown', 'f5'")
