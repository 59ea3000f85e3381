"""Helpers for the eval tests: small suite files (the bundled suites are too long for tests)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

TOY = "agentrl/toy.click-target-v0"


@pytest.fixture
def suite_file(tmp_path: Path):
    def make(tasks: list[str], max_steps: int = 3, name: str = "test-suite", **extra) -> Path:
        path = tmp_path / f"{name}.yaml"
        data = {"name": name, "tasks": tasks, "episodes_per_task": 2, "max_steps": max_steps, **extra}
        path.write_text(yaml.safe_dump(data))
        return path

    return make
