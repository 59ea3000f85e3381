"""configs/sft_tiny.yaml: a valid SFTConfig that trains on scripted-expert demos of >= 5 MiniWoB++ tasks."""

from __future__ import annotations

from pathlib import Path

import envs
from agentrl.config import load_config
from agentrl.train.sft import SFTConfig

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "sft_tiny.yaml"


def test_sft_tiny_validates_and_fits_this_machine() -> None:
    cfg = load_config(SFTConfig, CONFIG)
    assert cfg.objective == "sft"
    assert cfg.learner.local and cfg.learner.world_size == 1  # one in-process rank, no Ray
    assert cfg.model == "runs/models/tiny"  # where `agentrl model init` and the flywheel put it


def test_sft_tiny_names_five_miniwob_tasks_with_experts() -> None:
    cfg = load_config(SFTConfig, CONFIG)
    tasks = cfg.data.tasks or []
    with_expert = [t for t in tasks if t.startswith("agentrl/miniwob.") and envs.spec(t).has_expert]
    assert len(set(with_expert)) >= 5, tasks
    assert "demos" in cfg.data.runs  # the run `agentrl data demos` writes


def test_sft_tiny_header_records_demos_of_the_same_tasks() -> None:
    """The `agentrl data demos` command in the header covers every task the config trains on."""
    header = "\n".join(line for line in CONFIG.read_text().splitlines() if line.startswith("#"))
    assert "agentrl data demos" in header and "agentrl train sft --config configs/sft_tiny.yaml" in header
    for task in load_config(SFTConfig, CONFIG).data.tasks or []:
        assert f"--env {task}" in header, task
