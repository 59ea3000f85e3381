"""The MiniWoB++ task pages shipped in the `miniwob` PyPI package, found without importing it.

`import miniwob` registers its own gymnasium envs and imports Selenium; locating the package directory with
`importlib.util.find_spec` does neither, so registering all of agentrl's MiniWoB ids stays cheap.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path

# Steps an episode may take, where the default (10) is too few for the task's longest solution.
MAX_STEPS = {
    "click-checkboxes-large": 20,
    "click-checkboxes-soft": 14,
    "click-checkboxes-transfer": 14,
    "click-checkboxes": 14,
    "book-flight": 20,
    "book-flight-nodelay": 20,
    "click-tab-2": 14,
    "click-tab-2-hard": 14,
    "email-inbox": 14,
    "form-sequence-3": 14,
    "login-user": 12,
    "login-user-popup": 14,
    "use-autocomplete": 12,
    "use-autocomplete-nodelay": 12,
}
DEFAULT_MAX_STEPS = 10


class MiniWoBNotInstalled(RuntimeError):
    pass


@cache
def html_dir() -> Path:
    """miniwob/html inside the installed package (core/, common/ and miniwob/ task pages)."""
    spec = importlib.util.find_spec("miniwob")
    if spec is None or not spec.submodule_search_locations:
        raise MiniWoBNotInstalled("the `miniwob` package is not installed (pip install miniwob)")
    return Path(next(iter(spec.submodule_search_locations))) / "html"


@cache
def task_names() -> tuple[str, ...]:
    """Every task page, by name ("click-button"), sorted."""
    return tuple(sorted(p.stem for p in (html_dir() / "miniwob").glob("*.html")))


def task_url(task: str) -> str:
    if task not in task_names():
        raise ValueError(
            f"unknown MiniWoB task '{task}' ({len(task_names())} tasks in {html_dir() / 'miniwob'})"
        )
    return (html_dir() / "miniwob" / f"{task}.html").as_uri()


def env_id(task: str) -> str:
    return f"agentrl/miniwob.{task}-v0"
