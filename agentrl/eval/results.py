"""An evaluation's numbers: per task success with a 95% Wilson interval, mean steps, mean time and the
reasons episodes failed; the same for the baselines (random click: the floor; scripted expert: the
ceiling); written as JSON (for `agentrl eval compare` and plots) and as a markdown table.

Episodes that failed for infrastructure reasons (status "error": the engine failed or timed out;
"aborted": the env worker died) count as failures here and are listed under `errors`; a resumed
evaluation plays them again, and the newest record of each (task, seed) is the one counted.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from agentrl.eval.stats import wilson
from rollout.trajectory import Trajectory

RESULT_SCHEMA = "agentrl.eval/1"
BASELINES = ("random_click", "best_fixed_click", "expert")  # floors, and the ceiling (scripted expert)


@dataclass
class TaskResult:
    episodes: int
    successes: int
    success_rate: float
    ci95: tuple[float, float]
    mean_steps: float
    mean_time_s: float  # generation + env steps per episode (reset excluded)
    invalid_action_rate: float  # turns whose action did not parse or the env refused
    errors: int  # episodes with status error/aborted (counted as failures)
    failures: dict[str, int] = field(default_factory=dict)  # reason -> episodes, most frequent first


def failure_reason(t: Trajectory) -> str:
    """Why an unsuccessful episode ended, in a few words."""
    if t.status != "ok":
        return f"{t.status}: {t.reason}"[:120]
    if t.truncated:
        return (t.reason or "truncated")[:120]
    if t.terminated:
        return "ended without success"
    return t.reason[:120] or "unknown"


def newest_per_episode(trajectories: Iterable[Trajectory]) -> list[Trajectory]:
    """One trajectory per (env id, seed): the newest (a resumed run replays errored episodes)."""
    best: dict[tuple[str, int], Trajectory] = {}
    for t in trajectories:
        key = (t.env_id, t.seed)
        if key not in best or t.created_at >= best[key].created_at:
            best[key] = t
    return list(best.values())


def task_result(trajs: list[Trajectory]) -> TaskResult:
    n = len(trajs)
    k = sum(t.success for t in trajs)
    turns = [u for t in trajs for u in t.turns]
    reasons = Counter(failure_reason(t) for t in trajs if not t.success)
    return TaskResult(
        episodes=n,
        successes=k,
        success_rate=k / n if n else 0.0,
        ci95=wilson(k, n),
        mean_steps=sum(t.num_steps for t in trajs) / n if n else 0.0,
        mean_time_s=sum(sum(u.timings.values()) for u in turns) / n if n else 0.0,
        invalid_action_rate=sum(bool(u.action_error) for u in turns) / len(turns) if turns else 0.0,
        errors=sum(t.status != "ok" for t in trajs),
        failures=dict(reasons.most_common()),
    )


def by_task(trajectories: Iterable[Trajectory], tasks: Sequence[str] | None = None) -> dict[str, TaskResult]:
    """Results of every task that has episodes, each episode counted (repeats of a (task, seed) too): in
    `tasks` order, leaving out tasks not listed there; without `tasks`, every task in name order."""
    trajs: dict[str, list[Trajectory]] = {}
    for t in trajectories:
        trajs.setdefault(t.env_id, []).append(t)
    order = sorted(trajs) if tasks is None else [task for task in tasks if task in trajs]
    return {task: task_result(trajs[task]) for task in order}


def success_by_task(
    trajectories: Iterable[Trajectory], tasks: Sequence[str] | None = None
) -> dict[str, float]:
    """Success rate per task (`by_task`'s order)."""
    return {task: r.success_rate for task, r in by_task(trajectories, tasks).items()}


def per_task(trajectories: Iterable[Trajectory], tasks: list[str]) -> dict[str, TaskResult]:
    """Results of every task in `tasks` that has episodes, in suite order, the newest record of each
    (task, seed) counted."""
    return by_task(newest_per_episode(trajectories), tasks)


def overall(results: dict[str, TaskResult]) -> dict[str, Any]:
    """Macro mean over tasks (as papers report suites) and the pooled rate with its interval."""
    n = sum(r.episodes for r in results.values())
    k = sum(r.successes for r in results.values())
    macro = sum(r.success_rate for r in results.values()) / len(results) if results else 0.0
    return {"tasks": len(results), "episodes": n, "successes": k, "mean_task_success": macro,
            "pooled_success": k / n if n else 0.0, "pooled_ci95": wilson(k, n)}  # fmt: skip


def build_result(
    header: dict[str, Any], policy: dict[str, TaskResult], baselines: dict[str, dict[str, TaskResult]]
) -> dict[str, Any]:
    return {
        "schema": RESULT_SCHEMA,
        **header,
        "written_at": time.time(),
        "overall": overall(policy),
        "tasks": {t: asdict(r) for t, r in policy.items()},
        "baselines": {
            name: {"overall": overall(res), "tasks": {t: asdict(r) for t, r in res.items()}}
            for name, res in baselines.items()
        },
    }


def load_result(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    if p.is_dir():
        p = p / "result.json"
    if not p.is_file():
        raise ValueError(f"result '{path}': no such file (an `agentrl eval` writes OUT/result.json)")
    try:
        data = json.loads(p.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"result '{p}': not JSON ({e})") from None
    if not isinstance(data, dict) or data.get("schema") != RESULT_SCHEMA:
        raise ValueError(f"result '{p}': not an agentrl eval result (schema {RESULT_SCHEMA})")
    return data


def short(task: str) -> str:
    """agentrl/miniwob.click-button-v0 -> miniwob.click-button"""
    return task.split("/")[-1].rsplit("-v", 1)[0]


def _pct(rate: float | None) -> str:
    return "–" if rate is None else f"{rate:.0%}"


def _ci(ci: list[float] | tuple[float, float]) -> str:
    return f"[{ci[0]:.0%}, {ci[1]:.0%}]"


def markdown(result: dict[str, Any]) -> str:
    """The result as a markdown table, the baselines beside every task."""
    base = result["baselines"]
    names = [b for b in BASELINES if b in base]
    o = result["overall"]
    lines = [
        f"# {result['policy']['label']} on suite `{result['suite']['name']}`",
        "",
        f"{o['episodes']} episodes over {o['tasks']} tasks, seeds from {result['suite']['seed_start']:,} "
        f"(held out), at most {result['suite']['max_steps']} steps. Success with its 95% Wilson interval; "
        "errors (engine or env failures) count as failures.",
        "",
        "| task | success | 95% CI | n | " + " | ".join(b.replace("_", " ") for b in names)
        + " | mean steps | mean time (s) | errors | most frequent failure |",
        "|---|---|---|---|" + "---|" * len(names) + "---|---|---|---|",
    ]  # fmt: skip
    for task, r in result["tasks"].items():
        floors = " | ".join(_pct(base[b]["tasks"].get(task, {}).get("success_rate")) for b in names)
        top = next(iter(r["failures"]), "")
        lines.append(
            f"| {short(task)} | **{_pct(r['success_rate'])}** | {_ci(r['ci95'])} | {r['episodes']} | "
            f"{floors} | {r['mean_steps']:.1f} | {r['mean_time_s']:.2f} | {r['errors']} | {top} |"
        )
    floors = " | ".join(_pct(base[b]["overall"]["mean_task_success"]) for b in names)
    lines += [
        f"| **mean over tasks** | **{_pct(o['mean_task_success'])}** | pooled {_ci(o['pooled_ci95'])} | "
        f"{o['episodes']} | {floors} | | | | |",
        "",
    ]
    return "\n".join(lines)
