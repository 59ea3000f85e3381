"""Shared fixtures: the tiny model is built once per test session (no downloads, ~5 s)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from agentrl.models.factory import init_model

    return init_model("tiny", tmp_path_factory.mktemp("models") / "tiny", seed=0)
