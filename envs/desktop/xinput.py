"""Real input through the XTEST extension: the apps receive the same events a person's mouse and keyboard make.

Typing maps each character to a keycode of the server's keyboard map (with Shift where needed); characters
the map lacks are bound to spare keycodes first, as xdotool does, but all of a text's missing characters at
once and before its first key event: clients learn of a remap through MappingNotify and refetch the map,
and a run of remaps interleaved with key presses let a busy client (Tk) read a stale map and drop
characters. A text with more such characters than spare keycodes is typed in chunks. Hotkeys take
UI-TARS key names ("ctrl s", "ctrl+shift+z", "enter", "pagedown", "f5").
"""

from __future__ import annotations

import time

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
    def __init__(
        self,
        conn: XConnection,
        scroll_clicks: int = 3,
        remap_settle_s: float = 0.05,
        reuse_settle_s: float = 0.5,
    ) -> None:
        self.conn = conn
        # Xlib refetches the map when it *reads* a MappingNotify, not when the app reaches it in its queue:
        # after a remap clients need a moment to refetch, and before a code is rebound within one text the
        # keys typed with it must have been read, or the client looks them up in the newer map.
        self.remap_settle_s = remap_settle_s
        self.reuse_settle_s = reuse_settle_s
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
        syms = [_char_keysym(ch) for ch in text]
        for i, chunk in enumerate(self._chunks_within_spares(syms)):
            if i:  # this chunk rebinds codes the last one typed with: let the client read those keys first
                time.sleep(self.reuse_settle_s)
            self._bind(chunk)
            for sym in chunk:
                code, shift = self._keymap[sym]
                self._tap(code, [self._shift] if shift else [])
            self.conn.sync()

    def _chunks_within_spares(self, syms: list[int]) -> list[list[int]]:
        """Split `syms` so that no chunk needs more spare keycodes than the server has."""
        spare = set(self._spare)
        chunks: list[list[int]] = [[]]
        needs_spare: set[int] = set()  # keysyms of the current chunk that live (or will) on a spare code
        for sym in syms:
            on_spare = sym not in self._keymap or self._keymap[sym][0] in spare
            if on_spare and sym not in needs_spare:
                if len(needs_spare) == len(spare) and chunks[-1]:
                    chunks.append([])
                    needs_spare = set()
                needs_spare.add(sym)
            chunks[-1].append(sym)
        return chunks

    def hotkey(self, spec: str) -> None:
        """Press the keys of `spec` ("ctrl s", "ctrl+shift+z", "Return") together, then release them."""
        names = [n for n in spec.replace("+", " ").split() if n] if spec.strip() != "+" else ["plus"]
        if not names:
            raise ActionError("hotkey needs at least one key name")
        syms = [_name_keysym(name) for name in names]
        self._bind(syms)
        codes = []
        for sym in syms:
            code, shift = self._keymap[sym]
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

    def _bind(self, syms: list[int]) -> None:
        """Bind every keysym of `syms` the map lacks to a spare keycode: one request per run of adjacent
        keycodes, then a round trip and a short settle, all before the first key event that needs them."""
        missing = list(dict.fromkeys(s for s in syms if s not in self._keymap))
        if not missing:
            return
        keep = {self._keymap[s][0] for s in syms if s in self._keymap}  # codes this text still needs
        codes = [c for c in self._spare if c not in keep][: len(missing)]
        if len(codes) < len(missing):  # only a hotkey can get here: type_text chunks within the spares
            raise ActionError(
                f"no spare keycode for {len(missing)} unmapped keys at once ({len(codes)} free)"
            )
        self._spare = [c for c in self._spare if c not in codes] + codes  # reused round robin
        for old in [k for k, (c, _) in self._keymap.items() if c in codes]:
            del self._keymap[old]
        pairs = sorted(zip(codes, missing, strict=True))
        runs: list[list[tuple[int, int]]] = []
        for code, sym in pairs:
            if runs and runs[-1][-1][0] == code - 1:
                runs[-1].append((code, sym))
            else:
                runs.append([(code, sym)])
        try:
            for run in runs:
                self.d.change_keyboard_mapping(run[0][0], [(sym, sym) for _, sym in run])
            self.conn.sync()
        except error.XError as e:
            raise EnvFault(f"X server: cannot remap keycodes {codes}: {e}") from e
        for code, sym in pairs:
            self._keymap[sym] = (code, False)
        time.sleep(self.remap_settle_s)


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
