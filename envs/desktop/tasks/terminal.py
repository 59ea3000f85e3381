"""Terminal task (xterm): write a file from the command line.

xterm reports no state, so its expert is the one that remembers: after typing the command it waits for
the shell to run it (the checker reads the file), and types it again if nothing came of it.
"""

from __future__ import annotations

import random
from pathlib import Path

from envs.actions import Action
from envs.desktop.launch import TERMINAL, AppLaunch
from envs.desktop.tasks import words
from envs.desktop.tasks.base import Episode, Step, Task, read
from envs.desktop.tasks.moves import q, shell
from envs.desktop.view import DesktopView

WAITS_BEFORE_RETYPING = 4


class TerminalWriteFile(Task):
    name = "terminal-write-file"
    apps = (TERMINAL,)
    max_steps = 10

    def setup(self, rng: random.Random, home: Path) -> Episode:
        filename, *others = words.filenames(rng, 3)
        for name in others:
            (home / name).write_text(rng.choice(words.PHRASES) + "\n")
        content = rng.choice(words.PHRASES)
        instruction = f"Using the Terminal, create a file named {filename} containing the line '{content}'."
        return Episode(instruction, [AppLaunch(TERMINAL)], {"filename": filename, "content": content})

    def check(self, ep: Episode, view: DesktopView) -> bool:
        return (read(view.home / ep.goal["filename"]) or "").rstrip("\n") == ep.goal["content"]

    def expert(self, ep: Episode, view: DesktopView, shell_ok: bool) -> Step:
        command = f"echo {q(ep.goal['content'])} > {q(ep.goal['filename'])}"
        if shell_ok:
            return shell(command, "A shell command writes the file directly.")
        waited = ep.memo.get("waited")
        if waited is None or waited >= WAITS_BEFORE_RETYPING:
            ep.memo["waited"] = 0
            return Action(
                "type", content=command + "\n"
            ), "I type the command into the terminal and press Enter."
        ep.memo["waited"] = waited + 1
        return Action("wait"), "I wait for the command to finish."
