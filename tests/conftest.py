"""Shared fixtures: the tiny model is built once per test session (no downloads, ~5 s)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest


@pytest.fixture(autouse=True, scope="module")
def _close_browser_after_module():
    """Playwright's sync API marks its event loop as running on the main thread until it stops, which
    breaks `asyncio.run` in later modules: close the shared browser after every module that started one."""
    yield
    if "envs.browser.manager" in sys.modules:
        sys.modules["envs.browser.manager"].close_thread_browser()


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from agentrl.models.factory import init_model

    return init_model("tiny", tmp_path_factory.mktemp("models") / "tiny", seed=0)


@pytest.fixture(scope="session")
def ray_local():
    """A real local Ray instance (2 CPUs, as CI has), shared by the tests that need one."""
    import ray

    from agentrl.launch.ray_init import RayConfig, init_ray

    init_ray(RayConfig(num_cpus=2))
    yield ray
    ray.shutdown()


@pytest.fixture(scope="session")
def tiny_tokenizer(tiny_model_dir):
    from agentrl.models.loading import load_processor

    return load_processor(tiny_model_dir).tokenizer
