"""`agentrl envs list|play`: once as a user runs it (the console script), the rest in-process (faster)."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from agentrl.cli import main

ROOT = Path(__file__).resolve().parents[1]
AGENTRL = str(Path(sys.executable).parent / "agentrl")


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([AGENTRL, *args], capture_output=True, text=True, cwd=ROOT, timeout=120)


def cli(capsys: pytest.CaptureFixture[str], command: str, *extra: str) -> subprocess.CompletedProcess:
    """`agentrl COMMAND EXTRA...` in this process, with the console script's exit code and output."""
    args = [*shlex.split(command), *extra]
    code = main(args)
    out = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, out.out, out.err)


def test_console_script_lists_envs():
    out = run("envs", "list")
    assert out.returncode == 0, out.stderr
    assert "agentrl/miniwob.click-button-v0" in out.stdout and "agentrl/toy.click-target-v0" in out.stdout


def test_list_filters_by_kind(capsys):
    out = cli(capsys, "envs list --kind browser")
    lines = [ln.split() for ln in out.stdout.splitlines() if ln.strip().startswith("agentrl/")]
    assert len(lines) >= 100 and all(kind == "browser" for _, kind, _ in lines)
    assert ["agentrl/miniwob.click-button-v0", "browser", "yes"] in lines
    assert ["agentrl/miniwob.click-pie-v0", "browser", "-"] in lines


def test_play_expert_records_a_gif_with_one_frame_per_observation(capsys, tmp_path: Path):
    gif = tmp_path / "ep.gif"
    out = cli(capsys, "envs play agentrl/miniwob.login-user-v0 --seed 3 --policy expert --record", str(gif))
    assert out.returncode == 0, out.stderr
    assert "success: reward 1 in 5 steps" in out.stdout and "type(content='keneth')" in out.stdout
    img = Image.open(gif)
    assert img.n_frames == 6 and img.size == (320, 420)
    img.seek(0)
    frame = img.convert("RGB")
    red = sum(1 for px in frame.getdata() if px[0] > 200 and px[1] < 60 and px[2] < 60)
    assert red > 20  # the click marker on the first frame


def test_play_random_on_the_toy_env(capsys):
    out = cli(capsys, "envs play agentrl/toy.click-target-v0 --policy random --seed 1 --max-steps 2")
    assert out.returncode == 0, out.stderr
    assert "I click" not in out.stdout and "click(start_box=" in out.stdout


def test_bad_input_is_one_line_and_exit_2(capsys, tmp_path: Path):
    play = "envs play agentrl/toy.click-target-v0"
    cases = [
        ("envs list --kind nope", "--kind: unknown 'nope'"),
        ("envs play agentrl/miniwob.click-butto-v0", "did you mean 'agentrl/miniwob.click-button-v0'"),
        ("envs play agentrl/miniwob.click-pie-v0", "has no scripted expert"),
        (f"{play} --seed -1", "--seed: must be a non-negative"),
        (f"{play} --policy smart", "--policy: unknown 'smart'"),
        (f"{play} --record {tmp_path / 'x.mp4'}", "must end in .gif"),
    ]
    for command, message in cases:
        out = cli(capsys, command)
        assert out.returncode == 2 and message in out.stderr, (command, out.stderr)
        assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr
