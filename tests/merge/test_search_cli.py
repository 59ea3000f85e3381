"""`agentrl merge` and `agentrl merge search` from the command line; the simplex grid and the pick."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from agentrl.cli import main
from agentrl.merge import MergeSpec
from agentrl.merge.search import Suite, pick_best, search, simplex_grid


def test_cli_merge_writes_the_weighted_checkpoint(ckpts, tmp_path, capsys):
    rc = main(["merge", "--base", str(ckpts["base"]), "--ckpt", f"{ckpts['a']}:0.25", "--ckpt",
               f"{ckpts['b']}:0.75", "-o", str(tmp_path / "m")])  # fmt: skip
    assert rc == 0, capsys.readouterr().err
    m, a, b = (load_file(str(p / "model.safetensors")) for p in (tmp_path / "m", ckpts["a"], ckpts["b"]))
    for k in a:
        torch.testing.assert_close(m[k], 0.25 * a[k] + 0.75 * b[k], rtol=0, atol=1e-6)
    assert "merged (linear)" in capsys.readouterr().out


def test_cli_equal_weights_when_none_given(ckpts, tmp_path):
    assert (
        main(["merge", "--ckpt", str(ckpts["a"]), "--ckpt", str(ckpts["b"]), "-o", str(tmp_path / "m")]) == 0
    )
    rec = json.loads((tmp_path / "m" / "config.json").read_text())["agentrl_merge"]
    assert [i["weight"] for i in rec["inputs"]] == [0.5, 0.5]


@pytest.mark.parametrize(
    "extra,needle",
    [
        (["--ckpt", "A:0.5", "--ckpt", "B"], "'B' has no weight"),
        (["--ckpt", "A:0.5", "--method", "ties"], "--method: unknown 'ties'"),
        (["--ckpt", "A:1"], "does not exist"),
        ([], "--ckpt: give at least one"),
    ],
)
def test_cli_usage_errors_are_one_line(tmp_path, capsys, extra, needle):
    assert main(["merge", *extra, "-o", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1


def test_cli_refuses_a_shape_mismatch_naming_the_tensor(ckpts, tmp_path, capsys):
    from tests.merge.test_refusals import T, _edit_tensors

    bad = _edit_tensors(ckpts["a"], tmp_path / "bad", lambda sd: {**sd, T: torch.zeros(2, 2)})
    assert (
        main(["merge", "--ckpt", f"{ckpts['a']}:0.5", "--ckpt", f"{bad}:0.5", "-o", str(tmp_path / "m")]) == 2
    )
    assert f"tensor '{T}'" in capsys.readouterr().err


def test_simplex_grid():
    assert simplex_grid(2, 4) == [(1.0, 0.0), (0.75, 0.25), (0.5, 0.5), (0.25, 0.75), (0.0, 1.0)]
    g3 = simplex_grid(3, 4)
    assert len(g3) == math.comb(4 + 2, 2) == 15 and len(set(g3)) == 15
    assert all(abs(sum(p) - 1) < 1e-12 and min(p) >= 0 for p in g3)


def test_pick_best_prefers_even_weights_among_ties():
    rows = [
        {"alphas": [1.0, 0.0], "mean": 0.5},
        {"alphas": [0.5, 0.5], "mean": 0.5},
        {"alphas": [0.0, 1.0], "mean": 0.4},
    ]
    assert pick_best(rows)["alphas"] == [0.5, 0.5]
    assert pick_best([*rows, {"alphas": [0.25, 0.75], "mean": 0.6}])["alphas"] == [0.25, 0.75]


def _closeness_to_b(ckpts):
    """A scorer that reads the merged checkpoint itself: 1 at b's weights, lower with distance (so the
    search must find the b corner). Standing in for episodes, which take seconds per grid point here."""
    b = load_file(str(ckpts["b"] / "model.safetensors"))
    calls = []

    def score(model: Path, tasks, episodes, seed_start):
        m = load_file(str(model / "model.safetensors"))
        dist = sum(float((m[k] - b[k]).norm()) for k in b)
        calls.append(model)
        return {t: 1.0 / (1.0 + dist) for t in tasks}

    return score, calls


def test_search_finds_the_best_point_and_resumes(ckpts, tmp_path):
    score, calls = _closeness_to_b(ckpts)
    suite = Suite(tasks=["agentrl/toy.click-target-v0"], episodes_per_task=1)
    spec = MergeSpec([ckpts["a"], ckpts["b"], ckpts["c"]], [0, 0, 0], tmp_path / "best")
    result = search(spec, suite, 2, tmp_path / "work", score, log=lambda m: None)
    assert len(result["rows"]) == len(calls) == 6
    assert result["best"]["alphas"] == [0.0, 1.0, 0.0]
    best, b = (
        load_file(str(tmp_path / "best" / "model.safetensors")),
        load_file(str(ckpts["b"] / "model.safetensors")),
    )
    assert all(torch.equal(best[k], b[k]) for k in b)
    assert not list((tmp_path / "work").glob("point-*"))  # grid points are deleted after scoring
    # a rerun with the same key reuses every score
    spec2 = MergeSpec(spec.checkpoints, [0, 0, 0], tmp_path / "best2")
    again = search(spec2, suite, 2, tmp_path / "work", score, log=lambda m: None)
    assert len(calls) == 6 and again["best"]["alphas"] == [0.0, 1.0, 0.0]


@pytest.mark.slow
def test_cli_search_plays_real_episodes_and_plots(ckpts, tmp_path, capsys):
    suite = tmp_path / "suite.yaml"
    suite.write_text("tasks: [agentrl/toy.click-target-v0]\nepisodes_per_task: 1\nseed_start: 2000000\n")
    rc = main(["merge", "search", "--ckpt", str(ckpts["a"]), "--ckpt", str(ckpts["b"]), "--suite", str(suite),
               "--resolution", "1", "--max-steps", "1", "--parallel", "1", "-o", str(tmp_path / "best")])  # fmt: skip
    out = capsys.readouterr().out
    assert rc == 0, out
    result = json.loads((tmp_path / "best.search" / "search_result.json").read_text())
    assert [r["alphas"] for r in result["rows"]] == [[1.0, 0.0], [0.0, 1.0]]
    assert all(0.0 <= r["success"]["agentrl/toy.click-target-v0"] <= 1.0 for r in result["rows"])
    assert (tmp_path / "best" / "config.json").exists() and "best alpha" in out
    from PIL import Image

    assert Image.open(tmp_path / "best.search" / "success_vs_alpha.png").size == (720, 440)


def test_unknown_suite_is_refused(ckpts, tmp_path, capsys):
    rc = main(["merge", "search", "--ckpt", str(ckpts["a"]), "--ckpt", str(ckpts["b"]), "--suite", "nope",
               "-o", str(tmp_path / "x")])  # fmt: skip
    assert rc == 2 and "--suite: unknown 'nope'" in capsys.readouterr().err
