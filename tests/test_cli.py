"""The console script, run as a user would."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AGENTRL = str(Path(sys.executable).parent / "agentrl")


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([AGENTRL, *args], capture_output=True, text=True, cwd=ROOT)


def test_help_and_version():
    out = run("--help")
    assert out.returncode == 0 and "model" in out.stdout
    out = run("version")
    assert out.returncode == 0 and out.stdout.startswith("agentrl 0.")


def test_model_init_info_generate(tmp_path):
    d = tmp_path / "tiny"
    out = run("model", "init", "--preset", "tiny", str(d), "--seed", "2")
    assert out.returncode == 0, out.stderr
    assert (d / "model.safetensors").exists() and (d / "tokenizer.json").exists()
    out = run("model", "info", str(d))
    assert (
        out.returncode == 0
        and "Qwen2_5_VLForConditionalGeneration" in out.stdout
        and "parameters" in out.stdout
    )
    out = run("model", "generate", f"engine.model={d}", "engine.kind=hf", "max_tokens=5")
    assert out.returncode == 0, out.stderr
    assert "generated 5 tokens" in out.stdout


def test_bad_input_is_one_line_and_exit_2(tmp_path):
    out = run("model", "init", "--preset", "huge", str(tmp_path / "x"))
    assert out.returncode == 2 and "--preset: unknown 'huge'; allowed: tiny, small" in out.stderr
    out = run("model", "info", str(tmp_path))
    assert out.returncode == 2 and "has no config.json" in out.stderr


def test_every_command_formats_its_help():
    """argparse expands % in help strings: one stray '95%' breaks `--help` for every command."""
    import argparse

    from agentrl.cli import build_parser

    def walk(parser: argparse.ArgumentParser, path: str) -> list[str]:
        parser.format_help()  # raises on a bad help string
        seen = [path]
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    seen += walk(sub, f"{path} {name}")
        return seen

    commands = walk(build_parser(), "agentrl")
    assert len(commands) > 20 and "agentrl eval" in commands
