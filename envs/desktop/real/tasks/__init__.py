"""Real-app task templates, registered as `agentrl/desktop-real.<app>.<task>-v0`
(entry point `envs.desktop.real.env:RealDesktopEnv`). Importing them starts nothing."""

from __future__ import annotations

from envs.desktop.real.tasks.base import Episode, RealTask, StartFileError
from envs.desktop.real.tasks.galculator import GALCULATOR_TASKS
from envs.desktop.real.tasks.gnumeric import GNUMERIC_TASKS
from envs.desktop.real.tasks.mousepad import MOUSEPAD_TASKS
from envs.desktop.real.tasks.pcmanfm import PCMANFM_TASKS
from envs.desktop.real.tasks.xterm import XTERM_TASKS

TASKS: dict[str, type[RealTask]] = {
    cls.name: cls
    for cls in (*MOUSEPAD_TASKS, *GNUMERIC_TASKS, *PCMANFM_TASKS, *GALCULATOR_TASKS, *XTERM_TASKS)
}


def get_task(name: str) -> RealTask:
    if name not in TASKS:
        raise ValueError(f"task: unknown real-app desktop task '{name}'; known: {', '.join(TASKS)}")
    return TASKS[name]()


def env_id(task: str) -> str:
    return f"agentrl/desktop-real.{task}-v0"


def register_all() -> None:
    from envs.registry import EnvSpec, register

    for name, cls in TASKS.items():
        register(
            EnvSpec(
                id=env_id(name),
                entry_point="envs.desktop.real.env:RealDesktopEnv",
                kind="desktop-real",
                source="envs.desktop.real",
                kwargs={"task": name},
                has_expert=True,
                tags=("desktop", "desktop-real", *cls.apps),
                max_episode_steps=cls.max_steps,
            )
        )


__all__ = ["TASKS", "Episode", "RealTask", "StartFileError", "env_id", "get_task", "register_all"]
