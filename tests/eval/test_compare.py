"""`agentrl eval compare`: two real evaluations (scripted expert vs random click on the toy suite, on Ray
env workers), and the table's arithmetic on hand-made results."""

from __future__ import annotations

import json
import shlex

import pytest

from agentrl.cli import main
from agentrl.eval.compare import compare
from agentrl.eval.results import TaskResult, build_result

from .conftest import TOY


def _result(rates: dict[str, tuple[int, int]], label: str) -> dict:
    tasks = {t: TaskResult(n, k, k / n, (0.0, 1.0), 1.0, 0.1, 0.0, 0, {}) for t, (k, n) in rates.items()}
    header = {"suite": {"name": "s"}, "policy": {"kind": "model", "label": label}, "agent": {}}
    return build_result(header, tasks, {})


def test_compare_flags_only_real_differences():
    a = _result({"t/a-v0": (5, 10), "t/b-v0": (2, 20), "t/only-a-v0": (1, 1)}, "A")
    b = _result({"t/a-v0": (6, 10), "t/b-v0": (15, 20)}, "B")
    c = compare(a, b)
    rows = {r["task"]: r for r in c["rows"]}
    assert set(rows) == {"t/a-v0", "t/b-v0"}
    assert not rows["t/a-v0"]["significant"] and rows["t/a-v0"]["diff"] == pytest.approx(0.1)
    assert rows["t/b-v0"]["significant"] and rows["t/b-v0"]["p"] < 1e-4 and rows["t/b-v0"]["z"] > 0
    assert c["total"]["na"] == 31 and c["total"]["nb"] == 30
    assert any("only-a" in n for n in c["notes"])


def test_compare_cli_on_two_evaluations(ray_local, tiny_model_dir, suite_file, tmp_path, capsys):
    suite = suite_file([TOY], max_steps=1)
    outs = {}
    for policy in ("random", "expert"):
        outs[policy] = tmp_path / policy
        args = (
            f"eval --policy {policy} --model {tiny_model_dir} --suite {suite} --episodes 12 --baselines none"
        )
        assert main(shlex.split(f"{args} --out {outs[policy]}")) == 0, capsys.readouterr().err
    capsys.readouterr()
    code = main(["eval", "compare", str(outs["random"] / "result.json"), str(outs["expert"])])
    out = capsys.readouterr()
    assert code == 0, out.err
    md = (outs["expert"] / "compare.md").read_text()
    row = next(line for line in md.splitlines() if line.startswith("| toy.click-target"))
    assert "100% (12)" in row and "**+" in row  # expert 12/12 beats random click significantly
    assert "toy.click-target" in out.out
    assert json.loads((outs["expert"] / "result.json").read_text())["tasks"][TOY]["successes"] == 12

    code = main(["eval", "compare", str(tmp_path / "nothing.json"), str(outs["expert"])])
    assert code == 2 and "no such file" in capsys.readouterr().err
