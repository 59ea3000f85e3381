"""Scripted MiniWoB++ experts: read the page (privileged DOM access), answer in UI-TARS action text.

An expert is a function `(page, instruction) -> str` registered under its task name with `@expert(...)`.
Experts are stateless: each call reads the current page and returns the next action, so an expert also
recovers from a perturbed episode (a wrong click by a policy it takes over from). Every point an expert
clicks is checked with `document.elementFromPoint` to reach the intended element (`toolkit.py`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

Expert = Callable[[Any, str], str]
_EXPERTS: dict[str, Expert] = {}
_MODULES = ("click", "forms")  # modules under experts/ that register experts


def expert(*tasks: str) -> Callable[[Expert], Expert]:
    def add(fn: Expert) -> Expert:
        for task in tasks:
            if task in _EXPERTS:
                raise ValueError(f"MiniWoB expert for '{task}' registered twice")
            _EXPERTS[task] = fn
        return fn

    return add


def _load() -> None:
    for name in _MODULES:
        importlib.import_module(f"envs.browser.miniwob.experts.{name}")


def expert_tasks() -> list[str]:
    _load()
    return sorted(_EXPERTS)


def get_expert(task: str) -> Expert:
    _load()
    if task not in _EXPERTS:
        raise NotImplementedError(
            f"no scripted expert for MiniWoB task '{task}' (have: {', '.join(sorted(_EXPERTS))})"
        )
    return _EXPERTS[task]
