"""The table of registered envs: each id's spec (entry point, kind, source, kwargs), kept beside gymnasium's registry.

`envs.registry` looks ids up (lazily loading the families and plugins); `envs.plugins` adds to the table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym


class UnknownEnvError(KeyError):
    def __str__(self) -> str:  # KeyError quotes its message; this one is a sentence
        return str(self.args[0])


class DuplicateEnvError(ValueError):
    pass


@dataclass(frozen=True)
class EnvSpec:
    id: str
    entry_point: str | Callable[..., gym.Env]
    kind: str  # "browser", "web-app", "desktop", "desktop-real", "toy", or a plugin's own
    source: str  # who registered it: a module, an entry point, a file
    kwargs: dict[str, Any] = field(default_factory=dict)
    has_expert: bool = False
    tags: tuple[str, ...] = ()
    max_episode_steps: int | None = None


_REGISTRY: dict[str, EnvSpec] = {}


def register(spec: EnvSpec) -> None:
    if spec.id in _REGISTRY:
        old = _REGISTRY[spec.id]
        raise DuplicateEnvError(
            f"env id '{spec.id}' is registered twice: by {old.source} and by {spec.source}"
        )
    _REGISTRY[spec.id] = spec
    gym.register(id=spec.id, entry_point=spec.entry_point, kwargs=dict(spec.kwargs), disable_env_checker=True)


def unregister(env_id: str) -> None:
    _REGISTRY.pop(env_id, None)
    gym.registry.pop(env_id, None)
