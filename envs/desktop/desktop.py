"""The desktop of one env: X server, input, the episode's apps, and the view that checkers read.

    start_episode(home, apps) -> view   kill the last episode's apps, open this one's (warm hosts), settle
    act(action)                         real input through XTEST
    settle() -> view                    every app has processed the input and redrawn; the view is current

`settle` is what makes a step both fast and exact: instead of sleeping, it asks every app for a snapshot
(the app first drains its X event queue, see tkapps/channel.py), then reads the window stack.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np

from envs.actions import Action
from envs.core.gui_env import EnvFault
from envs.desktop import shell, wm
from envs.desktop.hosts import AppHost, HostPool
from envs.desktop.launch import TERMINAL, TITLES, AppLaunch
from envs.desktop.link import ask_all
from envs.desktop.procs import kill_group, spawn, wait_until
from envs.desktop.sandbox import Sandbox
from envs.desktop.tkapps.style import Layout
from envs.desktop.view import DesktopView, UIElement
from envs.desktop.xconn import TopWindow, XConnection, topmost_at
from envs.desktop.xinput import XInput
from envs.desktop.xserver import XServer

PROMPT_READY = "agentrl-terminal-ready"
PROMPT_PS1 = "$ \\[\\033]1;" + PROMPT_READY + "\\007\\]"  # bash: \[...\] wraps the non-printing OSC


class Desktop:
    def __init__(self, width: int, height: int, sandbox: Sandbox, xvfb: str = "Xvfb", app_timeout_s: float = 10.0,
                 wait_s: float = 0.3, spare_hosts: int = 3) -> None:  # fmt: skip
        self.width, self.height, self.sandbox = width, height, sandbox
        self.app_timeout_s, self.wait_s, self.spare_hosts = app_timeout_s, wait_s, spare_hosts
        self.xserver = XServer(width, height, xvfb)
        self.conn: XConnection | None = None
        self.input: XInput | None = None
        self.pool: HostPool | None = None
        self.hosts: dict[str, AppHost] = {}  # this episode's Tk apps, the task bar included
        self.terminal: subprocess.Popen[bytes] | None = None
        self.view: DesktopView | None = None
        self._tops: dict[int, int | None] = {}  # an app's inner window id -> its top-level (child of root)

    @property
    def x(self) -> XConnection:
        if self.conn is None:
            raise EnvFault("X server: not started")
        return self.conn

    # -- lifecycle --------------------------------------------------------------------------------------
    def start(self) -> None:
        """Bring up the X server, the connection and the spare app hosts (no-op when they are up)."""
        if self.xserver.alive and self.conn is not None:
            return
        self.stop()
        display = self.xserver.start()
        self.conn = XConnection(display)
        self.input = XInput(self.conn)
        self.pool = HostPool(display, self.sandbox.chan, (self.width, self.height), self.app_timeout_s)
        self.pool.prewarm(self.spare_hosts)

    def start_episode(self, home: Path, apps: list[AppLaunch]) -> DesktopView:
        """Open `apps` (bottom to top; the last is in front) on a clean desktop."""
        self.end_episode()
        self.start()
        assert self.pool is not None and all(a.name != TERMINAL for a in apps[:-1]), "the terminal goes last"
        tk_apps = [a for a in apps if a.name != TERMINAL]
        hosts = self.pool.take(len(tk_apps) + 1)
        for host, name in zip(hosts, [*(a.name for a in tk_apps), "panel"]):
            host.assign(name)
            self.hosts[name] = host
        buttons = [{"name": a.name, "title": TITLES[a.name], "socket": str(self.hosts[a.name].socket_path)}
                   for a in tk_apps]  # fmt: skip
        for host, app in zip(hosts, [*tk_apps, AppLaunch("panel", {"apps": buttons})]):
            host.link.send({"op": "start", "app": app.name, "home": str(home), "init": app.init})
        deadline = time.monotonic() + self.app_timeout_s
        for host in hosts:
            host.link.receive(deadline)
        for app in tk_apps:  # started in parallel; stack them in the task's order
            self.hosts[app.name].link.ask({"op": "raise"})
        if apps and apps[-1].name == TERMINAL:
            self._start_terminal(home)
        # The pointer starts every episode at the same spot (the top-right corner), so nothing the last
        # episode hovered stays highlighted in this one's first screenshot.
        assert self.input is not None and self.conn is not None
        self.input.move(self.width - 1, 0)
        self.conn.display.sync()
        self.pool.prewarm(self.spare_hosts)
        return self.settle()

    def end_episode(self) -> None:
        for host in self.hosts.values():
            host.kill()
        self.hosts = {}
        if self.terminal is not None:
            kill_group(self.terminal, term_timeout_s=0.0)
            self.terminal = None
        self._tops = {}

    def stop(self) -> None:
        """Everything down: apps, spares, connection, X server."""
        self.end_episode()
        if self.pool is not None:
            self.pool.close()
            self.pool = None
        if self.conn is not None:
            self.conn.close()
            self.conn, self.input = None, None
        self.xserver.stop()

    def _start_terminal(self, home: Path) -> None:
        lay = Layout(self.width, self.height)
        cell_w, cell_h = round(lay.font_px * 0.6), round(lay.font_px * 1.2)
        cols, rows = self.width // cell_w - 1, (self.height - lay.panel_height) // cell_h - 1
        conn = self.x
        before = {w.wid for w in conn.stack()}
        argv = ["xterm", "-fa", "DejaVu Sans Mono", "-fs", f"{lay.font_px * 0.75:g}", "-geometry", f"{cols}x{rows}+0+0",
                "-bg", "white", "-fg", "black", "-T", "Terminal", "-e",
                *shell.sandbox_argv("exec /bin/bash --norc --noprofile -i", self.sandbox.chan)]  # fmt: skip
        # The prompt, then an OSC 1 that sets the window's icon name: xterm draws "$ " before it handles the
        # OSC (one X connection, requests in order), so the icon name says the prompt is on the screen.
        env = {**shell.sandbox_env(home), "DISPLAY": self.xserver.display, "TERM": "xterm", "PS1": PROMPT_PS1}
        try:
            self.terminal = spawn(argv, env, cwd=str(home))
        except OSError as e:
            raise EnvFault(f"terminal: cannot run xterm ({e}); install it (scripts/setup.sh)") from e
        if not wait_until(lambda: any(w.wid not in before for w in conn.stack()), self.app_timeout_s):
            raise EnvFault(f"terminal: no xterm window within {self.app_timeout_s:g} s")
        new = [w.wid for w in conn.stack() if w.wid not in before]
        if not wait_until(lambda: any(conn.icon_name(w) == PROMPT_READY for w in new), self.app_timeout_s):
            raise EnvFault(f"terminal: the shell showed no prompt within {self.app_timeout_s:g} s")

    # -- acting -----------------------------------------------------------------------------------------
    def check_alive(self) -> None:
        if not self.xserver.alive:
            raise EnvFault("X server died")
        for name, host in self.hosts.items():
            if not host.alive():
                raise EnvFault(f"app '{name}' crashed ({host.death_note()})")

    def x_server_died(self, grace_s: float = 0.5) -> bool:
        """Whether the X server is gone or goes within `grace_s`: an app loses its X connection while a
        killed server is still exiting (not yet reaped), so a crashed app may be the first symptom."""
        return wait_until(lambda: not self.xserver.alive, grace_s)

    def act(self, a: Action) -> None:
        self.check_alive()
        assert self.input is not None
        send(self.input, a, self.wait_s)

    def settle(self) -> DesktopView:
        """Wait until every app has handled the input so far, give the top window the keyboard, look."""
        self.check_alive()
        hosts = list(self.hosts.items())
        links = [h.link for _, h in hosts]
        replies = ask_all(links, {"op": "snapshot"}, self.app_timeout_s)
        stack = self.x.stack()
        if wm.ensure_focus(self.x, stack):  # the apps see the focus change before we look
            replies = ask_all(links, {"op": "snapshot"}, self.app_timeout_s)
        self.view = self._build_view({name: r for (name, _), r in zip(hosts, replies)}, stack)
        return self.view

    def screenshot(self) -> np.ndarray:
        return self.x.screenshot()

    # -- the view ---------------------------------------------------------------------------------------
    def _top_of(self, inner: int) -> int | None:
        if inner not in self._tops:
            self._tops[inner] = self.x.top_level_of(inner)
        return self._tops[inner]

    def _build_view(self, replies: dict[str, dict[str, Any]], stack: list[TopWindow]) -> DesktopView:
        depth = {w.wid: i for i, w in enumerate(stack)}
        owner: dict[int, str] = {}
        found: list[tuple[int, int, UIElement]] = []
        for app, reply in replies.items():
            for e in reply["elements"]:
                top = self._top_of(e["frame"])
                if top is None or top not in depth:
                    continue
                owner[top] = app
                x, y = e["x"] + e["w"] // 2, e["y"] + e["h"] // 2
                if topmost_at(stack, x, y) != top:
                    continue  # covered by another window, or off the screen
                fields = {
                    k: e[k] for k in ("name", "path", "role", "text", "x", "y", "w", "h", "value", "disabled")
                }
                found.append((-depth[top], len(found), UIElement(app=app, **fields)))
        for w in stack:  # windows of programs without a side channel (xterm): one element each
            if w.wid not in owner and not w.override:
                title, _ = self.x.window_class(w.wid)
                found.append((-depth[w.wid], len(found), UIElement(TERMINAL, "window", "", TERMINAL, title or "window",
                                                                   w.x, w.y, w.w, w.h)))  # fmt: skip
                owner[w.wid] = TERMINAL
        front = wm.focus_target(stack)
        return DesktopView(
            home=self.sandbox.home,
            states={app: r["state"] for app, r in replies.items()},
            elements=[e for _, _, e in sorted(found, key=lambda t: (t[0], t[1]))],
            front=owner.get(front.wid) if front else None,
            errors={app: r["errors"] for app, r in replies.items() if r["errors"]},
        )


def send(inp: XInput, a: Action, wait_s: float) -> None:
    """One action as real input (the shell action is not input: the envs run it themselves)."""
    if a.verb in ("click", "left_double", "right_single"):
        button = "right" if a.verb == "right_single" else "left"
        inp.click(*a.start, button=button, count=2 if a.verb == "left_double" else 1)  # type: ignore[misc]
    elif a.verb == "drag":
        inp.drag(a.start, a.end)  # type: ignore[arg-type]
    elif a.verb == "scroll":
        inp.scroll(*a.start, a.direction)  # type: ignore[misc, arg-type]
    elif a.verb == "type":
        inp.type_text(a.content or "")
    elif a.verb == "hotkey":
        inp.hotkey(a.key or "")
    elif a.verb == "wait":
        time.sleep(wait_s)
