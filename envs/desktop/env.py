"""DesktopEnv: a GUIEnv on a private X display with the bundled apps, one task template per env id.

    env = envs.make("agentrl/desktop.files-rename-v0")              # GUI only
    env = envs.make("agentrl/desktop.files-rename-v0", allow_shell=True)   # GUI + shell(command=...) hybrid

Nothing starts at construction (registration and `make` stay cheap); the first reset starts Xvfb, which is
then reused by every episode. A reset kills the last episode's app processes, writes a fresh HOME from the
task's seed and opens the task's apps (from warm spare processes). A step sends real X input, waits until
every app has processed it (no fixed sleeps), and checks the task. Faults (X server or app died, app hung)
end the episode truncated with the reason in `info["truncation_reason"]`; the next reset starts over
(restarting the X server if needed). `close()` leaves no process or temp dir behind.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np

from envs.actions import Action, format_response
from envs.core.elements import Element, format_elements
from envs.core.gui_env import EnvFault, GUIEnv
from envs.desktop import shell
from envs.desktop.desktop import Desktop
from envs.desktop.launch import TITLES
from envs.desktop.sandbox import Sandbox
from envs.desktop.tasks import Episode, get_task
from envs.desktop.view import DesktopView


class DesktopEnv(GUIEnv):
    def __init__(
        self,
        task: str,
        width: int = 320,
        height: int = 240,
        max_steps: int | None = None,
        allow_shell: bool = False,
        shell_timeout_s: float = 10.0,
        shell_output_chars: int = 2000,
        app_timeout_s: float = 10.0,
        wait_s: float = 0.3,
        xvfb: str = "Xvfb",
        **kwargs: Any,
    ) -> None:
        self.task = get_task(task)
        super().__init__(width, height, max_steps or self.task.max_steps, allow_shell=allow_shell, **kwargs)
        self.shell_timeout_s, self.shell_output_chars = shell_timeout_s, shell_output_chars
        self.sandbox = Sandbox()
        self.desktop = Desktop(
            width, height, self.sandbox, xvfb=xvfb, app_timeout_s=app_timeout_s, wait_s=wait_s
        )
        self.episode: Episode | None = None
        self.view: DesktopView | None = None

    # -- GUIEnv hooks -----------------------------------------------------------------------------------
    def _reset_task(self, seed: int, options: dict[str, Any]) -> str:
        for attempt in (1, 2):
            home = self.sandbox.new_home()
            self.episode = self.task.setup(random.Random(seed), home)
            try:
                self.view = self.desktop.start_episode(home, self.episode.apps)
                return self.episode.instruction
            except EnvFault:
                self.desktop.stop()  # start from scratch, X server included
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _execute(self, action: Action) -> str | None:
        try:
            return self._act(action)
        except EnvFault as e:
            if self.desktop.x_server_died():  # immediate when the server is gone already
                raise EnvFault("X server died") from e  # name the cause, not its first symptom
            raise

    def _act(self, action: Action) -> str | None:
        feedback = None
        if action.verb == "shell":
            self.desktop.check_alive()
            feedback = shell.run(action.command or "", self.sandbox.home, self.sandbox.chan, self.shell_timeout_s,
                                 self.shell_output_chars)  # fmt: skip
        else:
            self.desktop.act(action)
        self.view = self.desktop.settle()
        return feedback

    def _evaluate(self, action: Action | None) -> tuple[float, bool]:
        assert self.episode is not None and self.view is not None
        return (1.0, True) if self.task.check(self.episode, self.view) else (0.0, False)

    def _screenshot(self) -> np.ndarray:
        return self.desktop.screenshot()

    def _elements(self) -> list[Element]:
        elements = self.view.elements if self.view else []
        return [Element(i, e.role, e.text, e.x, e.y, e.w, e.h, e.value) for i, e in enumerate(elements)]

    def _axtree(self) -> str:
        """The element list grouped by app window, top window first, with the focused one marked."""
        if self.view is None:
            return ""
        lines, app = [], None
        for element, e in zip(self._elements(), self.view.elements):
            if e.app != app:
                app = e.app
                focus = " (focused)" if app == self.view.front else ""
                lines.append(f'window "{TITLES.get(app, app)}"{focus}')
            lines.append("  " + format_elements([element]))
        return "\n".join(lines)

    def _close(self) -> None:
        self.desktop.stop()
        self.sandbox.cleanup()

    def expert_action(self) -> str:
        """The task's scripted expert (privileged: reads the apps' state); uses shell(...) where allowed."""
        assert self.episode is not None and self.view is not None, "reset() first"
        action, thought = self.task.expert(self.episode, self.view, self.allow_shell)
        return format_response(action, thought)

    @property
    def shell_isolation(self) -> str:
        """How the shell action is isolated on this machine: 'netns', 'userns' or 'none' (see shell.py)."""
        return shell.isolation()
