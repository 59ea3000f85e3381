"""Desktop task templates, registered as `agentrl/desktop.<task>-v0` (entry point `envs.desktop.env:DesktopEnv`).

Registration imports only these small modules: no X server, Tk or Xlib until an env is made.
"""

from __future__ import annotations

from envs.desktop.tasks.base import Episode, Step, Task
from envs.desktop.tasks.calc import CalcCompute, CalcToTodo
from envs.desktop.tasks.editor import EditorAppendLine, EditorCreateFile, EditorSettings
from envs.desktop.tasks.files import FilesDelete, FilesNewFolder, FilesRename
from envs.desktop.tasks.terminal import TerminalWriteFile
from envs.desktop.tasks.todo import TodoAddItem, TodoMarkDone, TodoSettings

TASKS: dict[str, type[Task]] = {
    cls.name: cls
    for cls in (EditorCreateFile, EditorAppendLine, EditorSettings, FilesRename, FilesDelete, FilesNewFolder,
                CalcCompute, CalcToTodo, TodoAddItem, TodoMarkDone, TodoSettings, TerminalWriteFile)
}  # fmt: skip


def get_task(name: str) -> Task:
    if name not in TASKS:
        raise ValueError(f"task: unknown desktop task '{name}'; known: {', '.join(TASKS)}")
    return TASKS[name]()


def env_id(task: str) -> str:
    return f"agentrl/desktop.{task}-v0"


def register_all() -> None:
    from envs.registry import EnvSpec, register

    for name, cls in TASKS.items():
        register(
            EnvSpec(
                id=env_id(name),
                entry_point="envs.desktop.env:DesktopEnv",
                kind="desktop",
                source="envs.desktop",
                kwargs={"task": name},
                has_expert=True,
                tags=("desktop", *cls.apps),
                max_episode_steps=cls.max_steps,
            )
        )


__all__ = ["TASKS", "Episode", "Step", "Task", "env_id", "get_task", "register_all"]
