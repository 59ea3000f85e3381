"""The package layers in pyproject.toml hold (lint-imports), and a planted back-import breaks them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).parent / "lint-imports"


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}  # this tree's packages, not the installed ones
    return subprocess.run(
        [str(LINT), "--no-cache"], cwd=root, env=env, capture_output=True, text=True, timeout=300
    )


def _copy(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for pkg in ("agentrl", "rollout", "envs"):
        shutil.copytree(ROOT / pkg, tree / pkg, ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    return tree


def test_layers_hold() -> None:
    r = _lint(ROOT)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert "0 broken" in r.stdout


def test_back_import_breaks_the_layers(tmp_path: Path) -> None:
    tree = _copy(tmp_path)
    assert _lint(tree).returncode == 0
    # rollout sits below train: a rollout module importing the PPO loop is a back-import (and a cycle)
    collector = tree / "rollout" / "collector.py"
    collector.write_text(collector.read_text() + "\nfrom agentrl.train.ppo.loop import PPOTrainer  # noqa\n")
    r = _lint(tree)
    assert r.returncode != 0
    assert "rollout is not allowed to import agentrl.train" in r.stdout
    assert "rollout.collector -> agentrl.train.ppo.loop" in r.stdout
