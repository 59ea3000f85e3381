"""`agentrl envs new`: each kind's package, written from the templates, passes the contract checker unchanged
(the generated env is checked by module path, as the guide does before installing it)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from agentrl.cli import main
from envs.check import check_env
from envs.scaffold import KINDS, ScaffoldError, write_package


@pytest.mark.parametrize("kind", KINDS)
def test_scaffold_passes_the_checker_unchanged(kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    made = write_package(f"my-{kind}-task", kind, tmp_path)
    pkg = made.module_path.split(".")[0]
    assert (made.root / pkg / "env.py").exists() and (made.root / "tests/test_env.py").exists()
    entry = tomllib.loads((made.root / "pyproject.toml").read_text())["project"]["entry-points"][
        "agentrl.envs"
    ]
    assert entry == {made.env_id: made.module_path} and made.env_id == f"my-{kind}-task/my-{kind}-task-v0"
    monkeypatch.syspath_prepend(str(made.root))  # the checker's worker inherits sys.path
    report = check_env(made.module_path, episodes=2)
    assert report.ok, [f"{c.name}: {c.detail}" for c in report.failed()]
    assert all(c.status == "pass" for c in report.contracts), report.contracts
    assert report.expert_success_rate == 1.0


def test_cli_new_and_its_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    assert main(["envs", "new", "todo-two", "--kind", "web-app", "--dir", str(tmp_path)]) == 0
    assert "todo-two/todo-two-v0" in capsys.readouterr().out
    cases = [
        (["todo-two", "--kind", "web-app"], "already exists"),
        (["Todo Two", "--kind", "web-app"], "name: 'Todo Two' is not allowed"),
        (["x", "--kind", "mobile"], "--kind: unknown 'mobile'; allowed: browser, desktop, web-app"),
    ]
    for args, message in cases:
        assert main(["envs", "new", *args, "--dir", str(tmp_path)]) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, err
    with pytest.raises(ScaffoldError, match="kind: unknown"):
        write_package("x", "mobile", tmp_path)
