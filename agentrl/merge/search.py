"""Find the merge weights: a grid over the simplex, each point merged and played on validation seeds.

For K checkpoints and resolution n the grid is every alpha with alpha_k in {0, 1/n, ..., 1} and
sum_k alpha_k = 1 (C(n+K-1, K-1) points: 5 for K=2, n=4; 15 for K=3, n=4). Each point is merged into the
work directory, scored (success rate per task on the suite's validation seeds, greedy), and deleted; the
scores go to WORK/search.json after every point, so an interrupted search resumes where it stopped. The
best point (highest mean success; ties go to the most even weights) is merged into the output.
Validation seeds must be held out from training and from the seeds a final test reports.
"""

from __future__ import annotations

import itertools
import json
import math
import shutil
from collections.abc import Callable, Sequence
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import Any

from agentrl.config import ConfigError, StrictModel, load_yaml
from agentrl.merge.streaming import MergeSpec, merge, plan

SUITES_FILE = Path(__file__).resolve().parents[2] / "configs" / "merge_suites.yaml"

Scorer = Callable[[Path, Sequence[str], int, int], dict[str, float]]  # (model, tasks, episodes, seed0)


class Suite(StrictModel):
    """Tasks and validation seeds (seed_start.. seed_start+episodes_per_task-1) for the search."""

    tasks: list[str]
    episodes_per_task: int = 20
    seed_start: int = 2_000_000  # apart from training seeds (0..) and the usual test seeds (1,000,000..)


def load_suite(name_or_file: str) -> Suite:
    """A YAML file with `tasks` (and optionally `episodes_per_task`, `seed_start`), or a name defined
    in configs/merge_suites.yaml."""
    p = Path(name_or_file)
    if p.suffix in (".yaml", ".yml"):
        data = load_yaml(p)
    else:
        suites = load_yaml(SUITES_FILE) if SUITES_FILE.exists() else {}
        if name_or_file not in suites:
            raise ConfigError(
                f"--suite: unknown '{name_or_file}'; allowed: {', '.join(suites)} or a YAML file"
            )
        data = suites[name_or_file]
    try:
        return Suite.model_validate(data)
    except Exception as e:  # pydantic's message is long; the first line names the key
        raise ConfigError(
            f"--suite '{name_or_file}': {str(e).splitlines()[0]}; {str(e).splitlines()[1:3]}"
        ) from None


def simplex_grid(k: int, resolution: int) -> list[tuple[float, ...]]:
    """Every alpha in (1/resolution) steps with k components summing to 1, in lexicographic order of
    alpha_1 descending (the first point is (1, 0, ..., 0))."""
    if k < 1 or resolution < 1:
        raise ValueError("simplex_grid: k and resolution must be >= 1")
    points = [c for c in itertools.product(range(resolution, -1, -1), repeat=k) if sum(c) == resolution]
    return [tuple(float(Fraction(c, resolution)) for c in p) for p in points]


def pick_best(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Highest mean success; among equals the most even weights (highest entropy), then the first."""

    def entropy(alphas: Sequence[float]) -> float:
        return -sum(a * math.log(a) for a in alphas if a > 0)

    return max(rows, key=lambda r: (round(r["mean"], 9), round(entropy(r["alphas"]), 9)))


def play_success(
    model: Path, tasks: Sequence[str], episodes: int, seed_start: int, parallel: int = 2, max_steps: int = 10
) -> dict[str, float]:
    """Greedy success rate per task of `model` on seeds seed_start.. (agentrl.eval.episodes.greedy_success),
    the model loaded by HFEngine's defaults (float32 on the CPU)."""
    from agentrl.eval.episodes import greedy_success
    from rollout.engines.hf import HFEngine

    return greedy_success(HFEngine(model), tasks, episodes, seed_start, parallel, max_steps)


def episode_scorer(parallel: int = 2, max_steps: int = 10) -> Scorer:
    def score(model: Path, tasks: Sequence[str], episodes: int, seed_start: int) -> dict[str, float]:
        return play_success(model, tasks, episodes, seed_start, parallel, max_steps)

    return score


def search(
    spec: MergeSpec,
    suite: Suite,
    resolution: int,
    work: Path,
    score: Scorer,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Score every grid point, merge the best into `spec.out`; returns {"rows", "best", "out"}.

    `spec.weights` is ignored (the grid supplies them); everything else is checked up front, once.
    """
    grid = simplex_grid(len(spec.checkpoints), resolution)
    plan(replace(spec, weights=list(grid[0]))).close()  # every input check before any work
    work.mkdir(parents=True, exist_ok=True)
    results_file = work / "search.json"
    key = {"checkpoints": [str(Path(c).resolve()) for c in spec.checkpoints], "suite": suite.model_dump(),
           "method": spec.method, "base": str(spec.base.resolve()) if spec.base else None}  # fmt: skip
    saved = json.loads(results_file.read_text()) if results_file.exists() else {}
    rows: list[dict[str, Any]] = saved.get("rows", []) if saved.get("key") == key else []
    done = {tuple(r["alphas"]) for r in rows}
    for i, alphas in enumerate(grid):
        if alphas in done:
            continue
        point = work / ("point-" + "-".join(f"{a:.4f}" for a in alphas))
        shutil.rmtree(point, ignore_errors=True)
        merge(replace(spec, weights=list(alphas), out=point, allow_extrapolation=False))
        try:
            per_task = score(point, suite.tasks, suite.episodes_per_task, suite.seed_start)
        finally:
            shutil.rmtree(point, ignore_errors=True)
        row = {"alphas": list(alphas), "success": per_task, "mean": sum(per_task.values()) / len(per_task)}
        rows.append(row)
        results_file.write_text(json.dumps({"key": key, "rows": rows}, indent=2))
        log(f"point {i + 1}/{len(grid)} alpha={_fmt(alphas)} mean success {row['mean']:.3f}")
    rows.sort(key=lambda r: [-a for a in r["alphas"]])
    best = pick_best(rows)
    merge(replace(spec, weights=list(best["alphas"])))
    return {"rows": rows, "best": best, "out": str(spec.out)}


def _fmt(alphas: Sequence[float]) -> str:
    return "(" + ", ".join(f"{a:.3g}" for a in alphas) + ")"
