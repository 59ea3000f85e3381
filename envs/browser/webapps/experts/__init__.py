"""Scripted experts for the web-app templates: one `(page, app, task) -> str` per (app, template).

An expert is privileged: it reads the app's server-side state (what is in the cart, where each message is)
and the task's parameters, decides the next step toward the goal from the state and the page it is on, and
answers with one UI-TARS action whose point it read from the DOM. Being reactive, it also takes over a
perturbed episode (a page left half-filled, a wrong page opened).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

Expert = Callable[[Any, Any, Any], str]
_EXPERTS: dict[tuple[str, str], Expert] = {}
_MODULES = ("shop", "mail", "admin")  # modules under experts/ that register experts


def expert(app: str, *templates: str) -> Callable[[Expert], Expert]:
    def add(fn: Expert) -> Expert:
        for t in templates:
            if (app, t) in _EXPERTS:
                raise ValueError(f"web-app expert for '{app}.{t}' registered twice")
            _EXPERTS[(app, t)] = fn
        return fn

    return add


def _load() -> None:
    for name in _MODULES:
        importlib.import_module(f"envs.browser.webapps.experts.{name}")


def expert_templates() -> list[tuple[str, str]]:
    _load()
    return sorted(_EXPERTS)


def get_expert(app: str, template: str) -> Expert:
    _load()
    if (app, template) not in _EXPERTS:
        raise NotImplementedError(f"no scripted expert for web app '{app}', template '{template}'")
    return _EXPERTS[(app, template)]
