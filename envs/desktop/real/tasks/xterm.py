"""Terminal tasks (xterm running bash, confined to HOME like the shell action): files made from the command
line; the checkers read them. xterm is not in the accessibility tree (one element: its window), so the
expert remembers: it types the command, waits for the file, and types it again if nothing came of it."""

from __future__ import annotations

import random
from pathlib import Path

from envs.desktop.real.apps import XTERM, AppLaunch
from envs.desktop.real.tasks.base import Episode, RealTask, Step, put, q, read, shell, type_text, wait
from envs.desktop.real.view import RealView
from envs.desktop.tasks import words

WAITS_BEFORE_RETYPING = 3


class TerminalTask(RealTask):
    apps = (XTERM,)
    max_steps = 10

    def command(self, ep: Episode) -> str:
        raise NotImplementedError

    def expert(self, ep: Episode, view: RealView, shell_ok: bool) -> Step:
        if shell_ok:
            return shell(self.command(ep), "A shell command does it directly.")
        waited = ep.memo.get("waited")
        if waited is None or waited >= WAITS_BEFORE_RETYPING:
            ep.memo["waited"] = 0
            return type_text(self.command(ep) + "\n", "I type the command into the terminal and press Enter.")
        ep.memo["waited"] = waited + 1
        return wait("I wait for the command to finish.")


class CountLines(TerminalTask):
    name = "xterm.count-lines"

    def setup(self, rng: random.Random, home: Path) -> Episode:
        filename = rng.choice(["guests", "words", "tasks", "names"]) + ".txt"
        lines = rng.sample(words.ITEMS, rng.randint(3, 12))
        put(home, filename, "\n".join(lines) + "\n")
        out = rng.choice(["count", "lines", "n"]) + ".txt"
        instruction = (
            f"Using the Terminal, write the number of lines of {filename} (just the number) into {out}."
        )
        return Episode(instruction, [AppLaunch(XTERM)], {"file": filename, "out": out, "n": len(lines)})

    def check(self, ep: Episode, view: RealView) -> bool:
        return (read(view.home / ep.goal["out"]) or "").strip() == str(ep.goal["n"])

    def command(self, ep: Episode) -> str:
        return f"wc -l < {q(ep.goal['file'])} > {q(ep.goal['out'])}"


class SortFile(TerminalTask):
    name = "xterm.sort-file"

    def setup(self, rng: random.Random, home: Path) -> Episode:
        filename = rng.choice(["fruit", "shopping", "stock"]) + ".txt"
        items = rng.sample(words.GROCERIES, rng.randint(4, 9))
        put(home, filename, "\n".join(items) + "\n")
        out = "sorted-" + filename
        instruction = f"Using the Terminal, write the lines of {filename} in alphabetical order into {out}."
        return Episode(instruction, [AppLaunch(XTERM)], {"file": filename, "out": out, "want": sorted(items)})

    def check(self, ep: Episode, view: RealView) -> bool:
        return (read(view.home / ep.goal["out"]) or "").split("\n")[:-1] == ep.goal["want"]

    def command(self, ep: Episode) -> str:
        return f"LC_ALL=C sort {q(ep.goal['file'])} > {q(ep.goal['out'])}"


class ArchiveLogs(TerminalTask):
    name = "xterm.archive-logs"

    def setup(self, rng: random.Random, home: Path) -> Episode:
        logs = [
            f"{s}.log" for s in rng.sample(["app", "db", "web", "cron", "mail", "auth"], rng.randint(2, 4))
        ]
        others = words.filenames(rng, 2)
        for name in logs + others:
            put(home, name, rng.choice(words.PHRASES) + "\n")
        folder = rng.choice(["logs", "old-logs", "archive"])
        instruction = f"Using the Terminal, make a folder {folder} and move every .log file into it."
        return Episode(instruction, [AppLaunch(XTERM)], {"logs": logs, "others": others, "folder": folder})

    def check(self, ep: Episode, view: RealView) -> bool:
        g = ep.goal
        home, inside = view.home, view.home / g["folder"]
        return all((inside / n).is_file() and not (home / n).exists() for n in g["logs"]) and all(
            (home / n).is_file() for n in g["others"])  # fmt: skip

    def command(self, ep: Episode) -> str:
        return f"mkdir -p {q(ep.goal['folder'])} && mv *.log {q(ep.goal['folder'])}/"


XTERM_TASKS = (CountLines, SortFile, ArchiveLogs)
