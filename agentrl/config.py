"""Typed configuration: YAML files validated by pydantic, overridden by `key.sub=value` on the command line.

Every field has its default in exactly one place, its model. A bad config never starts work: it raises
`ConfigError` whose message is one line naming the key and what is allowed; the CLI prints it and exits 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError


class ConfigError(ValueError):
    """A config that cannot be used; its message is one line naming the key."""


class StrictModel(BaseModel):
    """Base for every config model: unknown keys are errors, assignments are validated."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, protected_namespaces=())


C = TypeVar("C", bound=StrictModel)


def parse_override(item: str) -> tuple[list[str], Any]:
    """`a.b=3` -> (["a", "b"], 3); the value is parsed as YAML (`x=[1,2]`, `flag=true`, `name=foo`)."""
    if "=" not in item:
        raise ConfigError(f"override '{item}': expected KEY=VALUE, e.g. train.lr=1e-4")
    key, raw = item.split("=", 1)
    if not key or any(not part for part in key.split(".")):
        raise ConfigError(f"override '{item}': empty key")
    try:
        value = yaml.safe_load(raw) if raw != "" else ""
    except yaml.YAMLError:
        value = raw
    return key.split("."), value


def _set_path(data: dict[str, Any], path: list[str], value: Any) -> None:
    node = data
    for part in path[:-1]:
        nxt = node.get(part)
        if not isinstance(nxt, dict):
            nxt = {} if nxt is None else nxt
            node[part] = nxt
        if not isinstance(nxt, dict):
            raise ConfigError(f"override '{'.'.join(path)}': '{part}' is not a section")
        node = nxt
    node[path[-1]] = value


def _describe(model: type[BaseModel], loc: tuple[Any, ...]) -> str:
    """The allowed keys of the section at `loc`, for an 'extra key' error."""
    fields = model.model_fields
    for part in loc[:-1]:
        field = fields.get(str(part))
        ann = getattr(field, "annotation", None)
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            fields = ann.model_fields
        else:
            return ""
    return ", ".join(fields)


def format_validation_error(model: type[BaseModel], err: ValidationError) -> str:
    """The first error as one line: `config: key 'a.b': <what is wrong>; allowed: ...`."""
    e = err.errors()[0]
    key = ".".join(str(p) for p in e["loc"]) or "<root>"
    if e["type"] == "extra_forbidden":
        return f"config: unknown key '{key}'; allowed keys here: {_describe(model, e['loc'])}"
    if e["type"] == "value_error" and isinstance(e.get("input"), dict):  # a check across keys: it names them
        where = f" in '{key}'" if e["loc"] else ""
        return f"config{where}: {e['msg'].removeprefix('Value error, ')}"
    return f"config: key '{key}': {e['msg']} (got {e.get('input')!r})"


def load_yaml(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config: file '{p}' does not exist")
    try:
        data = yaml.safe_load(p.read_text()) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"config: '{p}' is not valid YAML: {str(e).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config: '{p}' must hold a mapping at the top level, not {type(data).__name__}")
    return data


def load_config(model: type[C], path: str | Path | None = None, overrides: list[str] | None = None) -> C:
    """Defaults <- YAML file <- `key.sub=value` overrides, validated by `model`."""
    data: dict[str, Any] = load_yaml(path) if path else {}
    for item in overrides or []:
        keys, value = parse_override(item)
        _set_path(data, keys, value)
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise ConfigError(format_validation_error(model, e)) from None


def dump_config(cfg: BaseModel, path: str | Path) -> None:
    """Write the fully resolved config (defaults included) beside a run's outputs."""
    Path(path).write_text(yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False))


# Held-out seeds: training (demonstrations, PPO, rejection sampling) draws seeds below this, evaluation from here up.
EVAL_SEED_START = 1_000_000
