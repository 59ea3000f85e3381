"""RealDesktopEnv: Debian's own apps (mousepad, gnumeric, galculator, pcmanfm, xterm) on a private X display.

    env = envs.make("agentrl/desktop-real.mousepad.append-line-v0")
    env = envs.make("agentrl/desktop-real.mousepad.append-line-v0", allow_shell=True)   # + shell(command=...)

The X server and the window manager start at the first reset and serve every episode. Each reset writes a
fresh HOME (the task's start files and the apps' settings) and starts a fresh D-Bus session, its AT-SPI
bus and reader, and the task's apps, with the start files as their arguments. The apps are restarted
every episode, not restored: these apps keep state that a checker could trip over and the env cannot
reset from outside (undo history, recent files, open dialogs, gnumeric's sheet state, pcmanfm's
selection), and they read their settings from HOME only at start-up. `info["timings"]["reset_s"]` shows
the price (benchmarks/desktop_throughput.py).

The element list comes from the accessibility tree (AT-SPI, see atspi.py); `axtree` mode gives the
whole tree. Faults end the episode truncated with the reason: an app that does not start (the first step
truncates, naming it), crashes, hangs (no AT-SPI answer), or shows a message dialog the task does not
expect. A start file that cannot be written makes reset refuse (StartFileError, one line with the path).
The shell action, and the terminal's shell, run confined to HOME (confine.py).
"""

from __future__ import annotations

import contextlib
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from envs.actions import Action, format_response
from envs.core.elements import Element
from envs.core.gui_env import EnvFault, GUIEnv
from envs.desktop import shell
from envs.desktop.real import confine
from envs.desktop.real.apps import pin_times, write_app_config
from envs.desktop.real.desktop import RealDesktop
from envs.desktop.real.tasks import get_task
from envs.desktop.real.tasks.base import Episode, StartFileError
from envs.desktop.real.view import RealView, title_of
from envs.desktop.sandbox import Sandbox


class RealDesktopEnv(GUIEnv):
    def __init__(
        self,
        task: str,
        width: int = 800,
        height: int = 600,
        max_steps: int | None = None,
        allow_shell: bool = False,
        shell_timeout_s: float = 10.0,
        shell_output_chars: int = 2000,
        app_timeout_s: float = 20.0,
        call_timeout_s: float = 2.0,
        settle_timeout_s: float = 3.0,
        wait_s: float = 0.3,
        xvfb: str = "Xvfb",
        **kwargs: Any,
    ) -> None:
        self.task = get_task(task)
        super().__init__(width, height, max_steps or self.task.max_steps, allow_shell=allow_shell, **kwargs)
        self.shell_timeout_s, self.shell_output_chars = shell_timeout_s, shell_output_chars
        self.sandbox = Sandbox()
        self.desktop = RealDesktop(width, height, self.sandbox, xvfb=xvfb, app_timeout_s=app_timeout_s,
                                   call_timeout_s=call_timeout_s, settle_timeout_s=settle_timeout_s,
                                   wait_s=wait_s)  # fmt: skip
        self.episode: Episode | None = None
        self.view: RealView | None = None
        self.start_fault = ""  # why the apps did not start this episode (the first step truncates with it)

    # -- GUIEnv hooks -----------------------------------------------------------------------------------
    def _reset_task(self, seed: int, options: dict[str, Any]) -> str:
        self.start_fault = ""
        self.view = None
        self.desktop.end_episode()  # the last episode's apps stop writing into HOME before it is replaced
        for attempt in (1, 2):
            home = self._new_home()
            self.episode = self.task.setup(random.Random(seed), home)
            try:
                write_app_config(home)
                pin_times(home)
            except OSError as e:
                raise StartFileError(f"reset: cannot write start file {e.filename}: {e.strerror}") from e
            try:
                self.view = self.desktop.start_episode(home, self.episode.apps)
                break
            except EnvFault as e:
                self.desktop.stop()  # from scratch, X server included
                if attempt == 2:
                    self.start_fault = str(e)
                    self.desktop.start()  # the screen still shows (empty) for the first observation
        return self.episode.instruction

    def _new_home(self) -> Path:
        """An empty HOME (as Sandbox.new_home; a HOME that cannot be removed is emptied where it can be)."""
        home = self.sandbox.home
        shutil.rmtree(home, ignore_errors=True)
        try:
            home.mkdir(exist_ok=True)
        except OSError as e:
            raise StartFileError(f"reset: cannot write start file {home}: {e.strerror}") from e
        for child in home.iterdir():
            with contextlib.suppress(OSError):
                shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
        return home

    def _execute(self, action: Action) -> str | None:
        if self.start_fault:
            raise EnvFault(self.start_fault)
        try:
            feedback = None
            if action.verb == "shell":
                self.desktop.check_alive()
                feedback = self._shell(action.command or "")
            else:
                self.desktop.act(action)
            self.view = self.desktop.settle()
            self._check_alerts()
            return feedback
        except EnvFault as e:
            if not self.desktop.xserver.alive:
                raise EnvFault("X server died") from e
            raise

    def _shell(self, command: str) -> str:
        """shell.run's contract (output, exit note, time limit), the command confined to HOME (confine.py)."""
        staging = self.sandbox.chan / "shell-root"
        staging.mkdir(exist_ok=True)
        home = self.sandbox.home
        return shell.run(command, home, self.sandbox.chan, self.shell_timeout_s, self.shell_output_chars,
                         argv=confine.argv(command, staging))  # fmt: skip

    def _check_alerts(self) -> None:
        assert self.view is not None
        for alert in self.view.alerts():
            text = " ".join(n.name or n.text for n in self.view.nodes if n.app == alert.app and n.role == "label"
                            and alert.x <= n.x < alert.x + alert.w and alert.y <= n.y < alert.y + alert.h)  # fmt: skip
            if not any(a in alert.name or a in text for a in self.task.alerts):
                shown = " ".join((alert.name + " " + text).split())[:120]
                raise EnvFault(f"unexpected dialog from {title_of(alert.app)}: '{shown}'")

    def _evaluate(self, action: Action | None) -> tuple[float, bool]:
        if self.episode is None or self.view is None:
            return 0.0, False
        return (1.0, True) if self.task.check(self.episode, self.view) else (0.0, False)

    def _screenshot(self) -> np.ndarray:
        return self.desktop.screenshot()

    def _elements(self) -> list[Element]:
        elements = self.view.elements if self.view else []
        return [Element(i, e.role, e.text, e.x, e.y, e.w, e.h, e.value) for i, e in enumerate(elements)]

    def _axtree(self) -> str:
        """Every accessible of every app (application, windows, and all that shows), indented by depth:
        role, "name", the box in screen pixels, the states (focused, checked, ...) and any text."""
        if self.view is None:
            return ""
        lines = []
        for n in self.view.nodes:
            if n.depth >= 2 and not n.has("s"):
                continue  # closed menus, hidden parts
            states = [w for f, w in (("f", "focused"), ("c", "checked"), ("x", "selected"), ("A", "active"))
                      if n.has(f)] + ([] if n.has("e") or n.depth < 2 else ["disabled"])  # fmt: skip
            text = " ".join(n.text.split())[:80]
            extra = (f" [{', '.join(states)}]" if states else "") + (
                f' text="{text}"' if text and text != n.name else ""
            )
            box = f" ({n.x},{n.y},{n.w},{n.h})" if n.w > 0 else ""
            lines.append(f'{"  " * n.depth}{n.role} "{" ".join(n.name.split())[:60]}"{box}{extra}')
        return "\n".join(lines)

    def _close(self) -> None:
        self.desktop.stop()
        self.sandbox.cleanup()

    def expert_action(self) -> str:
        """The task's scripted expert (privileged: reads the tree and the files); shell(...) where allowed."""
        assert self.episode is not None, "reset() first"
        if self.view is None:
            return format_response(Action("wait"), "The apps did not start; I wait.")
        action, thought = self.task.expert(self.episode, self.view, self.allow_shell)
        return format_response(action, thought)
