"""Plots: learning curves read back from real TensorBoard event files (torch's SummaryWriter, as the
trainers write them), and the success-per-task PNG."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from agentrl.cli import main
from agentrl.eval.plots import plot_success_per_task, read_scalars
from agentrl.eval.results import TaskResult, build_result


def _write_run(path, values, tag="eval_success"):
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(str(path / "tb"))
    for step, v in enumerate(values):
        writer.add_scalar(tag, v, step)
        writer.add_scalar("train/loss", 1.0 / (step + 1), step)
    writer.close()


def test_learning_curves_from_tensorboard_logs(tmp_path, capsys):
    _write_run(tmp_path / "ppo", [0.1, 0.3, 0.5])
    _write_run(tmp_path / "sft", [0.2, 0.25])
    got = read_scalars(tmp_path / "ppo")
    assert [s for s, _ in got["eval_success"]] == [0, 1, 2]
    assert [v for _, v in got["eval_success"]] == pytest.approx([0.1, 0.3, 0.5])
    out = tmp_path / "curves.png"
    args = ["eval", "curves", str(tmp_path / "ppo"), str(tmp_path / "sft")]
    assert main([*args, "--tag", "eval_success", "--tag", "train/loss", "--out", str(out)]) == 0
    img = np.asarray(Image.open(out).convert("RGB"))
    assert img.shape[0] > img.shape[1] / 2  # two panels stacked
    assert (img.std(axis=(0, 1)) > 10).all()  # something was drawn
    capsys.readouterr()
    assert main([*args, "--tag", "eval_sucess"]) == 2
    assert "not logged by any run; logged: eval_success, train/loss" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["eval", "curves", str(tmp_path / "empty"), "--tag", "x"]) == 2
    assert "no TensorBoard event files" in capsys.readouterr().err


def test_success_per_task_png(tmp_path):
    tasks = {
        f"agentrl/toy.t{i}-v0": TaskResult(10, i, i / 10, (0.0, 1.0), 1.0, 0.1, 0.0, 0, {}) for i in range(4)
    }
    header = {"suite": {"name": "s"}, "policy": {"kind": "model", "label": "m"}, "agent": {}}
    base = {"random_click": {t: TaskResult(10, 0, 0.0, (0.0, 0.3), 1.0, 0.1, 0.0, 0, {}) for t in tasks}}
    path = plot_success_per_task(build_result(header, tasks, base), tmp_path / "s.png")
    img = Image.open(path)
    assert img.size[0] >= 800 and img.size[1] >= 200
