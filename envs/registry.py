"""The env registry: gymnasium ids `agentrl/<family>.<task>-v<N>` with agentrl's metadata beside them.

Registration goes through gymnasium (so `gymnasium.make(id)` works once `envs` is imported) and is lazy:
an entry point is a "module:Class" string, imported on first `make`. Duplicate ids are refused with both
sources named; an unknown id is answered with the closest registered ids. Installed packages add envs
through the `agentrl.envs` entry-point group, and `pkg.module:EnvClass` works as an id (`envs/plugins.py`).
"""

from __future__ import annotations

import difflib
import importlib
from typing import Any

import gymnasium as gym

from envs import plugins
from envs.specs import _REGISTRY, DuplicateEnvError, EnvSpec, UnknownEnvError, register, unregister

__all__ = [
    "DuplicateEnvError", "EnvSpec", "UnknownEnvError", "add_loader", "list_envs", "load_all", "make", "register",
    "spec", "unregister",
]  # fmt: skip


def spec(env_id: str) -> EnvSpec:
    load_all()
    if env_id not in _REGISTRY:
        if plugins.is_module_path(env_id):  # "pkg.module:EnvClass", made without a registration
            return plugins.register_module_path(env_id)
        close = difflib.get_close_matches(env_id, list(_REGISTRY), n=3, cutoff=0.5)
        hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise UnknownEnvError(f"unknown env id '{env_id}'{hint} (`agentrl envs list` shows all)")
    return _REGISTRY[env_id]


def make(env_id: str, **kwargs: Any) -> gym.Env:
    """gymnasium.make with a helpful error for unknown ids."""
    spec(env_id)
    return gym.make(gym.registry[env_id], **kwargs)  # the spec itself: a module-path id has a ':'


def list_envs(kind: str | None = None, tag: str | None = None) -> list[EnvSpec]:
    load_all()
    return [
        s
        for s in sorted(_REGISTRY.values(), key=lambda s: s.id)
        if (kind is None or s.kind == kind) and (tag is None or tag in s.tags)
    ]


_loaded = False
_LOADERS: list[str] = []  # "module:function" registering a family; filled by add_loader


def add_loader(target: str) -> None:
    """A family registers itself lazily: `target` is called once, on the first lookup."""
    if target not in _LOADERS:
        _LOADERS.append(target)


def load_all() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for target in _LOADERS:
        module, fn = target.split(":")
        getattr(importlib.import_module(module), fn)()
    plugins.load_entry_points()  # installed packages' envs (the `agentrl.envs` entry-point group), after the built-ins
