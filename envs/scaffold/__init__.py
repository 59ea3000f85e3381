"""`agentrl envs new NAME --kind browser|desktop|web-app`: a minimal, working env package from templates.

    NAME/
      pyproject.toml        the registration: an `agentrl.envs` entry point (id NAME/NAME-v0)
      PKG/__init__.py
      PKG/env.py            the env: task (seeded), checker (_evaluate / Task.check), scripted expert
      PKG/page.html         (browser) the task page
      tests/test_env.py     runs the contract checker on the env

The package passes `agentrl envs check PKG.env:CLASS` as written; the guide (docs/adding-an-environment.md)
walks from here to a PPO run. Templates are in templates/: `__PKG__`, `__CLASS__`, `__NAME__`, `__ID__` are
replaced.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

KINDS = ("browser", "desktop", "web-app")
TEMPLATES = Path(__file__).with_name("templates")
_NAME = re.compile(r"^[a-z][a-z0-9]*([-_][a-z0-9]+)*$")


class ScaffoldError(ValueError):
    pass


@dataclass(frozen=True)
class Made:
    root: Path
    files: list[Path]
    env_id: str
    module_path: str  # PKG.env:CLASS, for `agentrl envs check` before installing


def names(name: str) -> dict[str, str]:
    """The template fields: package name, class name and env id for `name` (e.g. my-todo)."""
    if not _NAME.match(name):
        raise ScaffoldError(
            f"name: '{name}' is not allowed; use lower case letters and digits, words joined by '-' or '_' "
            "(e.g. my-todo), starting with a letter"
        )
    pkg = name.replace("-", "_")
    cls = "".join(w.capitalize() for w in re.split(r"[-_]", name)) + "Env"
    return {"__NAME__": name, "__PKG__": pkg, "__CLASS__": cls, "__ID__": f"{name}/{name}-v0"}


def write_package(name: str, kind: str, parent: Path) -> Made:
    """Write the package for `name` under `parent`/`name`; refuses to overwrite an existing directory."""
    if kind not in KINDS:
        raise ScaffoldError(f"kind: unknown '{kind}'; allowed: {', '.join(KINDS)}")
    fields = names(name)
    root = parent / name
    if root.exists():
        raise ScaffoldError(f"--dir: {root} already exists; choose another name or directory")
    pkg = root / fields["__PKG__"]
    plan = {
        root / "pyproject.toml": TEMPLATES / "common/pyproject.toml.txt",
        pkg / "__init__.py": TEMPLATES / "common/__init__.py.txt",
        pkg / "env.py": TEMPLATES / kind / "env.py.txt",
        root / "tests/test_env.py": TEMPLATES / "common/test_env.py.txt",
    }
    if (TEMPLATES / kind / "page.html").exists():
        plan[pkg / "page.html"] = TEMPLATES / kind / "page.html"
    for out, template in plan.items():
        text = template.read_text()
        for key, value in fields.items():
            text = text.replace(key, value)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
    module_path = f"{fields['__PKG__']}.env:{fields['__CLASS__']}"
    return Made(root, sorted(plan), fields["__ID__"], module_path)
