"""Third-party envs: the `agentrl.envs` entry-point group (a real installed-package layout on sys.path, read
by importlib.metadata in a fresh interpreter, as at a user's `import envs`) and the `pkg.mod:Class` form."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import envs
from envs.registry import DuplicateEnvError, EnvSpec, register, unregister

ENV_MODULE = """
from envs.toy.click import ToyClickEnv


class BigToyEnv(ToyClickEnv):
    def __init__(self, **kwargs):
        super().__init__(size=200, **kwargs)


def register_all():
    from envs.registry import EnvSpec, register

    register(EnvSpec(id="acme/toy.big-family-v0", entry_point="acme_envs:BigToyEnv", kind="toy",
                     source="acme_envs", has_expert=True))
"""


def install_fake_package(root: Path, entry_points: str) -> None:
    """A package as pip leaves it: the module, and a dist-info with METADATA and entry_points.txt."""
    (root / "acme_envs.py").write_text(ENV_MODULE)
    info = root / "acme_envs-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-envs\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[agentrl.envs]\n" + textwrap.dedent(entry_points))


def fresh_python(root: Path, code: str) -> dict:
    """Run `code` in a new interpreter with `root` on sys.path; it prints one JSON object."""
    out = subprocess.run(
        [sys.executable, "-W", "always", "-c", code],
        capture_output=True, text=True, timeout=120, env={"PYTHONPATH": f"{root}:{Path.cwd()}", "PATH": ""},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    return {**json.loads(out.stdout.strip().splitlines()[-1]), "stderr": out.stderr}


PROBE = """
import json, envs
from envs.plugins import load_errors
ids = {s.id: s.source for s in envs.list_envs() if s.id.startswith("acme/")}
env = envs.make("acme/toy.big-v0")
obs, _ = env.reset(seed=0)
print(json.dumps({"ids": ids, "errors": load_errors(), "shape": list(obs["screenshot"].shape)}))
"""


def test_entry_points_register_single_envs_and_families_at_import(tmp_path: Path):
    install_fake_package(tmp_path, """
        acme/toy.big-v0 = acme_envs:BigToyEnv
        acme = acme_envs:register_all
    """)  # fmt: skip
    got = fresh_python(tmp_path, PROBE)
    assert got["errors"] == [] and got["shape"] == [200, 200, 3]
    assert got["ids"]["acme/toy.big-v0"] == (
        "entry point 'acme/toy.big-v0 = acme_envs:BigToyEnv' of package acme-envs"
    )
    assert got["ids"]["acme/toy.big-family-v0"] == "acme_envs"


def test_a_duplicate_id_is_refused_naming_both_sources_and_the_rest_still_loads(tmp_path: Path):
    install_fake_package(tmp_path, """
        acme/toy.big-v0 = acme_envs:BigToyEnv
        agentrl/toy.click-target-v0 = acme_envs:BigToyEnv
        broken = acme_envs:no_such_function
    """)  # fmt: skip
    got = fresh_python(tmp_path, PROBE)
    duplicate, broken = sorted(got["errors"], key=lambda e: "broken" in e)
    assert (
        "env id 'agentrl/toy.click-target-v0' is registered twice: by envs.toy and by entry point"
        in duplicate
    )
    assert "of package acme-envs" in duplicate
    assert "'broken = acme_envs:no_such_function'" in broken and "AttributeError" in broken
    assert "agentrl env plugin not loaded" in got["stderr"]  # a warning, not a crash
    assert got["shape"] == [200, 200, 3]  # the plugin's good entry still works


def test_register_refuses_duplicates_in_process():
    spec = EnvSpec(id="acme/dup.x-v0", entry_point="envs.toy.click:ToyClickEnv", kind="toy", source="first")
    register(spec)
    try:
        with pytest.raises(DuplicateEnvError, match="registered twice: by first and by second"):
            register(EnvSpec(id="acme/dup.x-v0", entry_point="x:Y", kind="toy", source="second"))
    finally:
        unregister("acme/dup.x-v0")


def test_module_path_form_makes_an_unregistered_class():
    env = envs.make("envs.toy.click:ToyClickEnv", size=200)
    obs, _ = env.reset(seed=1)
    assert obs["screenshot"].shape == (200, 200, 3)
    spec = envs.spec("envs.toy.click:ToyClickEnv")
    assert (
        spec.kind == "module" and spec.has_expert and spec.source == "module path envs.toy.click:ToyClickEnv"
    )
    for bad, message in [
        ("envs.toy.click:Nope", "cannot import Nope from envs.toy.click"),
        ("no_such_pkg.mod:Env", "No module named 'no_such_pkg'"),
        ("envs.toy.click:LABELS", "LABELS is not a gymnasium.Env subclass"),
    ]:
        with pytest.raises(envs.UnknownEnvError, match=message):
            envs.make(bad)
