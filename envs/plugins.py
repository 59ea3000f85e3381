"""Envs from other packages: the `agentrl.envs` entry-point group, and the module-path form `pkg.mod:Class`.

An installed package registers its envs without anyone editing agentrl, in its pyproject.toml:

    [project.entry-points."agentrl.envs"]
    "myorg/todo.add-item-v0" = "my_envs.todo:TodoEnv"   # one env: the name is its id, the value its class
    my_envs = "my_envs:register_all"                     # a family: a function that calls envs.register

A name that ends in `-v<N>` is one env (registered lazily: the class is imported on the first `make`); any
other name is a family function, called once when the registry first loads. A plugin that fails to load
(an import error, a duplicate id) does not break the others or the built-in envs: its error is kept in
`load_errors()` and issued as a warning naming the plugin, and for a duplicate id both sources.

Without any registration, `envs.make("my_envs.todo:TodoEnv")` (or `agentrl envs check my_envs.todo:TodoEnv`)
imports the module and makes the class: the quickest loop while writing an env.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
import re
import warnings

import gymnasium as gym

from envs.specs import DuplicateEnvError, EnvSpec, UnknownEnvError, register

ENTRY_POINT_GROUP = "agentrl.envs"
_ENV_ID = re.compile(r"-v\d+$")
_MODULE_PATH = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
_errors: list[str] = []


def load_entry_points(group: str = ENTRY_POINT_GROUP) -> list[str]:
    """Register the envs every installed package declares under `group`; return the new errors."""
    new: list[str] = []
    for ep in sorted(importlib.metadata.entry_points(group=group), key=lambda e: e.name):
        dist = getattr(ep.dist, "name", None) or "an unknown package"
        source = f"entry point '{ep.name} = {ep.value}' of package {dist}"
        try:
            if _ENV_ID.search(ep.name):
                register(EnvSpec(id=ep.name, entry_point=ep.value, kind="plugin", source=source))
            else:
                ep.load()()
        except DuplicateEnvError as e:
            new.append(f"{source}: {e}")
        except Exception as e:  # noqa: BLE001 - a broken plugin must not break every other env
            new.append(f"{source} failed to load: {type(e).__name__}: {e}")
    for message in new:
        warnings.warn(f"agentrl env plugin not loaded: {message}", RuntimeWarning, stacklevel=2)
    _errors.extend(new)
    return new


def load_errors() -> list[str]:
    """One line per plugin that could not be loaded (shown by `agentrl envs list`)."""
    return list(_errors)


def is_module_path(env_id: str) -> bool:
    return bool(_MODULE_PATH.match(env_id))


def register_module_path(env_id: str) -> EnvSpec:
    """Register `pkg.mod:Class` under that very string, importing the module now (errors name the path)."""
    module, name = env_id.split(":")
    try:
        cls = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as e:
        raise UnknownEnvError(f"env '{env_id}': cannot import {name} from {module} ({e})") from None
    if not (inspect.isclass(cls) and issubclass(cls, gym.Env)):
        raise UnknownEnvError(f"env '{env_id}': {name} is not a gymnasium.Env subclass")
    has_expert = bool(getattr(cls, "has_expert", lambda: False)())
    spec = EnvSpec(
        id=env_id, entry_point=cls, kind="module", source=f"module path {env_id}", has_expert=has_expert
    )
    register(spec)
    return spec
