"""Config loading: defaults <- YAML <- overrides; bad input gives one line naming the key, exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agentrl.config import ConfigError, StrictModel, load_config
from rollout.engines.config import EngineConfig

ROOT = Path(__file__).resolve().parents[1]


class Section(StrictModel):
    lr: float = 1e-3
    steps: int = 10


class Root(StrictModel):
    name: str = "run"
    train: Section = Section()
    tags: list[str] = []


def test_every_shipped_config_validates():
    from agentrl.cli.model import GenerateConfig

    for path in sorted((ROOT / "configs" / "engines").glob("*.yaml")):
        cfg = load_config(GenerateConfig, path)
        assert cfg.engine.kind in ("hf", "vllm")


def test_defaults_yaml_and_overrides_layer(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("name: a\ntrain:\n  lr: 0.5\n")
    cfg = load_config(Root, f, ["train.steps=7", "tags=[x, y]", "name=b"])
    assert (cfg.name, cfg.train.lr, cfg.train.steps, cfg.tags) == ("b", 0.5, 7, ["x", "y"])
    assert load_config(Root).train.steps == 10


@pytest.mark.parametrize(
    ("yaml_text", "overrides", "message"),
    [
        ("train:\n  lrr: 1\n", [], "unknown key 'train.lrr'; allowed keys here: lr, steps"),
        ("", ["trian.lr=1"], "unknown key 'trian'; allowed keys here: name, train, tags"),
        ("", ["train.steps=many"], "key 'train.steps': Input should be a valid integer"),
        ("- a\n- b\n", [], "must hold a mapping at the top level"),
        ("", ["train.lr"], "expected KEY=VALUE"),
        ("train: [1\n", [], "is not valid YAML"),
    ],
)
def test_bad_configs_give_one_line_naming_the_key(tmp_path, yaml_text, overrides, message):
    f = tmp_path / "c.yaml"
    f.write_text(yaml_text)
    with pytest.raises(ConfigError) as e:
        load_config(Root, f, overrides)
    assert message in str(e.value)
    assert "\n" not in str(e.value)


def test_literal_error_names_the_allowed_values():
    with pytest.raises(ConfigError, match=r"key 'kind': Input should be 'auto', 'hf', 'vllm' or 'openai'"):
        load_config(EngineConfig, None, ["kind=tpu"])


def test_missing_file():
    with pytest.raises(ConfigError, match="file 'nope.yaml' does not exist"):
        load_config(Root, "nope.yaml")


def test_cli_bad_override_exits_2_with_one_line():
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "agentrl",
            "model",
            "generate",
            "--config",
            str(ROOT / "configs/engines/hf_tiny.yaml"),
            "engine.kind=tpu",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert out.returncode == 2
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "engine.kind" in lines[0] and "'hf'" in lines[0], out.stderr
