"""Progress display for episode collection: episodes, success rate, steps/s (rich)."""

from __future__ import annotations

import time

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from agentrl.cli import console
from rollout.trajectory import Trajectory


class EpisodeProgress:
    def __init__(self, total: int, label: str = "episodes") -> None:
        self.progress = Progress(
            TextColumn(f"[bold]{label}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[stats]}"),
            TimeElapsedColumn(),
            console=console,
            disable=not console.is_terminal,
            transient=False,
        )
        self.task = self.progress.add_task(label, total=total, stats="")
        self.t0 = time.perf_counter()
        self.done = self.successes = self.steps = self.failed = 0

    def __enter__(self) -> EpisodeProgress:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(*exc)

    def update(self, traj: Trajectory) -> None:
        self.done += 1
        self.successes += int(traj.success)
        self.steps += traj.num_steps
        self.failed += int(traj.status != "ok")
        rate = self.steps / max(1e-9, time.perf_counter() - self.t0)
        stats = f"success {self.successes / self.done:.0%}  steps/s {rate:.1f}"
        if self.failed:
            stats += f"  [red]errors {self.failed}[/]"
        self.progress.update(self.task, advance=1, stats=stats)
        total = self.progress.tasks[0].total or 0
        if not console.is_terminal and (self.done % max(1, int(total) // 10) == 0 or self.done == total):
            console.print(f"episodes {self.done}/{int(total)}  {stats}")
