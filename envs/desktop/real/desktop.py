"""The desktop of one real-app env: X server and window manager (kept), and per episode a D-Bus session,
its AT-SPI reader and the task's apps (started afresh: see env.py for why).

    start_episode(home, launches) -> view   fresh bus, apps started in HOME, their windows up and read
    act(action)                             real input through XTEST (envs/desktop/xinput.py)
    settle() -> view                        the accessibility tree and the screen have stopped changing

These apps have no side channel, so `settle` cannot ask them whether they have handled the input: it
reads the tree and a screen checksum until two reads in a row agree (or `settle_timeout_s` passes).
"""

from __future__ import annotations

import os
import select
import subprocess
import time
import zlib
from pathlib import Path

import numpy as np
from Xlib import X, protocol

from envs.actions import Action
from envs.core.gui_env import EnvFault
from envs.desktop import shell
from envs.desktop.desktop import PROMPT_PS1, PROMPT_READY, send
from envs.desktop.procs import kill_group, spawn, wait_until
from envs.desktop.real import confine
from envs.desktop.real.apps import APPS, XTERM, AppLaunch, wm_config
from envs.desktop.real.atspi import AtspiReader, Tree
from envs.desktop.real.view import RealView, build_view, client_of
from envs.desktop.sandbox import Sandbox
from envs.desktop.xconn import XConnection
from envs.desktop.xinput import XInput
from envs.desktop.xserver import XServer


class RealDesktop:
    def __init__(self, width: int, height: int, sandbox: Sandbox, xvfb: str = "Xvfb", app_timeout_s: float = 15.0,
                 call_timeout_s: float = 2.0, settle_timeout_s: float = 3.0, settle_poll_s: float = 0.03,
                 wait_s: float = 0.3) -> None:  # fmt: skip
        self.width, self.height, self.sandbox = width, height, sandbox
        self.app_timeout_s, self.call_timeout_s, self.wait_s = app_timeout_s, call_timeout_s, wait_s
        self.settle_timeout_s, self.settle_poll_s = settle_timeout_s, settle_poll_s
        self.xserver = XServer(width, height, xvfb)
        self.conn: XConnection | None = None
        self.input: XInput | None = None
        self.wm: subprocess.Popen[bytes] | None = None
        self._wm_config = ""
        self.bus: subprocess.Popen[bytes] | None = None
        self.bus_address = ""
        self.reader: AtspiReader | None = None
        self.apps: dict[str, subprocess.Popen[bytes]] = {}  # this episode's apps by name
        self.view: RealView | None = None

    @property
    def x(self) -> XConnection:
        if self.conn is None:
            raise EnvFault("X server: not started")
        return self.conn

    # -- lifecycle --------------------------------------------------------------------------------------
    def start(self) -> None:
        if self.xserver.alive and self.conn is not None:
            return
        self.stop()
        self.conn = XConnection(self.xserver.start())
        self.input = XInput(self.conn)

    def start_episode(self, home: Path, launches: list[AppLaunch]) -> RealView:
        """Open `launches` (started together; the last listed gets the keyboard), HOME already written."""
        self.end_episode()
        self.start()
        self._start_wm(launches)
        self._start_bus()
        for launch in launches:
            self._start_app(home, launch)
        for launch in launches:
            self._wait_for_window(launch)
        if launches:  # they start together and map in any order: the last listed gets the keyboard
            x, y, w, h = launches[-1].place
            self._focus_at(int((x + w / 2) * self.width), int((y + h / 2) * self.height))
        assert self.input is not None
        self.input.move(self.width - 1, self.height - 1)  # the same pointer spot every episode
        self.x.sync()
        return self.settle()

    def end_episode(self) -> None:
        for proc in self.apps.values():
            kill_group(proc, term_timeout_s=0.0)
        self.apps = {}
        if self.reader is not None:
            self.reader.close()
            self.reader = None
        if self.bus is not None:
            kill_group(self.bus, term_timeout_s=0.0)
            self.bus = None
        self.view = None

    def stop(self) -> None:
        self.end_episode()
        if self.wm is not None:
            kill_group(self.wm, term_timeout_s=0.0)
            self.wm, self._wm_config = None, ""
        if self.conn is not None:
            self.conn.close()
            self.conn, self.input = None, None
        self.xserver.stop()

    def _env(self, home: Path) -> dict[str, str]:
        run = self.sandbox.chan / "run"
        run.mkdir(mode=0o700, exist_ok=True)
        return {"DISPLAY": self.xserver.display, "HOME": str(home), "PATH": shell.SHELL_PATH, "LANG": "C.UTF-8",
                "USER": os.environ.get("USER", "user"), "XDG_RUNTIME_DIR": str(run), "GIO_USE_VFS": "local",
                "GTK_A11Y": "atspi"}  # fmt: skip

    def _start_wm(self, launches: list[AppLaunch]) -> None:
        """openbox, restarted only when this episode's window boxes differ from the last one's."""
        config = wm_config(launches, (self.width, self.height))
        if self.wm is not None and self.wm.poll() is None and config == self._wm_config:
            return
        if self.wm is not None:
            kill_group(self.wm, term_timeout_s=0.0)
        path = self.sandbox.chan / "openbox-rc.xml"
        path.write_text(config)
        env = {"DISPLAY": self.xserver.display, "HOME": str(self.sandbox.chan), "PATH": shell.SHELL_PATH}
        try:
            self.wm = spawn(
                ["openbox", "--config-file", str(path), "--sm-disable"], env, cwd=str(self.sandbox.chan)
            )
        except OSError as e:
            raise EnvFault(f"window manager: cannot run openbox ({e}); run scripts/setup.sh") from e
        self._wm_config = config
        # openbox is up when it owns the WM selection of screen 0
        atom = self.x.display.intern_atom("WM_S0")
        if not wait_until(lambda: self.x.display.get_selection_owner(atom) != 0, self.app_timeout_s):
            raise EnvFault(f"window manager: openbox did not start within {self.app_timeout_s:g} s")

    def _start_bus(self) -> None:
        """A fresh D-Bus session; the AT-SPI bus is started on demand by it (org.a11y.Bus activation)."""
        # at-spi-bus-launcher advertises its bus on the X root window too; a stale address from the last
        # episode (its launcher was killed) would send this episode's apps to a dead bus
        root = self.x.root
        root.delete_property(self.x.display.intern_atom("AT_SPI_BUS"))
        self.x.sync()
        env = {"DISPLAY": self.xserver.display, "PATH": shell.SHELL_PATH, "HOME": str(self.sandbox.chan),
               "XDG_RUNTIME_DIR": str(self.sandbox.chan / "run")}  # fmt: skip
        (self.sandbox.chan / "run").mkdir(mode=0o700, exist_ok=True)
        try:
            self.bus = spawn(["dbus-daemon", "--session", "--nofork", "--nopidfile", "--print-address=1"], env,
                             stdout=subprocess.PIPE)  # fmt: skip
        except OSError as e:
            raise EnvFault(f"D-Bus: cannot run dbus-daemon ({e}); run scripts/setup.sh") from e
        assert self.bus.stdout is not None
        ready = select.select([self.bus.stdout], [], [], self.app_timeout_s)[0]
        address = self.bus.stdout.readline().decode().strip() if ready else ""
        if not address:
            raise EnvFault(f"D-Bus: the session bus gave no address within {self.app_timeout_s:g} s")
        self.bus_address = address
        self.reader = AtspiReader(address, self.xserver.display, self.call_timeout_s, self.app_timeout_s)

    def _start_app(self, home: Path, launch: AppLaunch) -> None:
        app = APPS[launch.name]
        env = {**self._env(home), "DBUS_SESSION_BUS_ADDRESS": self.bus_address, **dict(app.env)}
        argv = [*app.argv, *launch.args]
        if launch.name == XTERM:  # its shell confined to HOME, as the shell action is
            staging = self.sandbox.chan / "term-root"
            staging.mkdir(exist_ok=True)
            env.update(shell.sandbox_env(home), DISPLAY=self.xserver.display, TERM="xterm", PS1=PROMPT_PS1)
            argv = ["xterm", "-fa", "DejaVu Sans Mono", "-fs", "12", "-bg", "white", "-fg", "black", "-T", "Terminal",
                    "-e", *confine.argv("exec /bin/bash --norc --noprofile -i", staging)]  # fmt: skip
        try:
            with open(self.sandbox.chan / f"{launch.name}.log", "wb") as log:
                self.apps[launch.name] = spawn(
                    argv, env, cwd=str(home), stderr=log.fileno(), stdout=log.fileno()
                )
        except OSError as e:
            raise EnvFault(
                f"app '{launch.name}' did not start: cannot run {argv[0]} ({e}); run scripts/setup.sh"
            ) from e

    def _wait_for_window(self, launch: AppLaunch) -> None:
        """The app's window is on the screen and in the accessibility tree (xterm: its shell's prompt)."""
        name, proc = launch.name, self.apps[launch.name]
        deadline = time.monotonic() + self.app_timeout_s
        if name == XTERM:
            ok = wait_until(lambda: proc.poll() is not None or any(
                self.x.icon_name(client_of(self.x, w.wid) or w.wid) == PROMPT_READY for w in self.x.stack()),
                self.app_timeout_s)  # fmt: skip
        else:
            assert self.reader is not None
            reader = self.reader

            def up() -> bool:
                if proc.poll() is not None:
                    return True
                tree = reader.tree(max_text=0)
                return any(n.app == name and n.depth == 1 and n.has("s") and n.w > 0 for n in tree.nodes)

            ok = wait_until(up, max(0.0, deadline - time.monotonic()), interval_s=0.05)
        if proc.poll() is not None:
            raise EnvFault(
                f"app '{name}' did not start: it exited with code {proc.returncode} ({self.log_tail(name)})"
            )
        if not ok:
            raise EnvFault(f"app '{name}' did not start: no window within {self.app_timeout_s:g} s")

    def log_tail(self, name: str, lines: int = 2) -> str:
        try:
            text = (self.sandbox.chan / f"{name}.log").read_text(errors="replace")
        except OSError:
            return "no log"
        return " | ".join(text.strip().splitlines()[-lines:]) or "no output"

    # -- acting -----------------------------------------------------------------------------------------
    def check_alive(self) -> None:
        if not self.xserver.alive:
            raise EnvFault("X server died")
        for name, proc in self.apps.items():
            if proc.poll() is not None:
                code = proc.returncode
                how = f"killed by signal {-code}" if code < 0 else f"exited with code {code}"
                raise EnvFault(f"app '{name}' crashed ({how})")

    def act(self, a: Action) -> None:
        self.check_alive()
        inp = self.input
        assert inp is not None
        if a.verb in ("click", "left_double", "right_single", "drag"):
            self._focus_at(*a.start)  # type: ignore[misc]
        send(inp, a, self.wait_s)

    def _focus_at(self, px: int, py: int) -> None:
        """Click-to-focus, done by the env: the window under the pointer is activated (raised, given the
        keyboard) through the window manager (EWMH _NET_ACTIVE_WINDOW) before the click reaches it."""
        x = self.x
        top = next((w for w in reversed(x.stack()) if w.contains(px, py)), None)
        if top is None or top.override:
            return
        focus = x.focus()
        if focus > 1 and x.top_level_of(focus) == top.wid:
            return
        client = client_of(x, top.wid)
        if client is None:
            return
        atom = x.display.intern_atom("_NET_ACTIVE_WINDOW")
        event = protocol.event.ClientMessage(
            window=client, client_type=atom, data=(32, [2, X.CurrentTime, 0, 0, 0])
        )
        x.root.send_event(event, event_mask=X.SubstructureRedirectMask | X.SubstructureNotifyMask)
        x.sync()
        wait_until(lambda: x.focus() > 1 and x.top_level_of(x.focus()) == top.wid, 1.0)

    def _look(self) -> tuple[Tree, int]:
        assert self.reader is not None
        tree = self.reader.tree()
        shot = self.x.screenshot()
        return tree, zlib.adler32(shot[::4, ::4].tobytes())

    def settle(self) -> RealView:
        """Read until the tree and the screen agree twice in a row; the view of the last read."""
        self.check_alive()
        deadline = time.monotonic() + self.settle_timeout_s
        tree, shot = self._look()
        while time.monotonic() < deadline and not tree.hung:
            time.sleep(self.settle_poll_s)
            tree2, shot2 = self._look()
            same = shot2 == shot and tree2.fingerprint() == tree.fingerprint()
            tree, shot = tree2, shot2
            if same:
                break
        self.check_alive()
        if tree.hung:
            name = {f"pid {p.pid}": n for n, p in self.apps.items()}.get(tree.hung[0], tree.hung[0])
            raise EnvFault(
                f"app '{name}' is not responding (no AT-SPI answer within {self.call_timeout_s:g} s)"
            )
        self.view = build_view(self.sandbox.home, tree, self.x.stack(), self.apps, self.x)
        return self.view

    def screenshot(self) -> np.ndarray:
        return self.x.screenshot()
