"""PNG plots (matplotlib, Agg backend): success per task with its 95% interval and the baselines, and
learning curves read from the TensorBoard event files that training runs write (OUT/tb)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agentrl.eval.results import BASELINES, short

BASELINE_STYLE = {
    "random_click": ("#d62728", "v", "random click"),
    "best_fixed_click": ("#ff7f0e", "s", "best fixed click"),
    "expert": ("#2ca02c", "^", "expert"),
}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only; no display needed
    import matplotlib.pyplot as plt

    return plt


def plot_success_per_task(result: dict[str, Any], path: Path) -> Path:
    """Horizontal bars: the policy's success per task with its Wilson interval; baseline markers beside."""
    plt = _pyplot()
    tasks = list(result["tasks"])
    rates = [result["tasks"][t]["success_rate"] for t in tasks]
    lo = [max(0.0, r - result["tasks"][t]["ci95"][0]) for t, r in zip(tasks, rates)]
    hi = [max(0.0, result["tasks"][t]["ci95"][1] - r) for t, r in zip(tasks, rates)]
    fig, ax = plt.subplots(figsize=(10, 1.6 + 0.35 * max(1, len(tasks))))
    ys = list(range(len(tasks)))
    ax.barh(
        ys, rates, xerr=[lo, hi], color="#1f77b4", alpha=0.8, capsize=3, label=result["policy"]["label"][-40:]
    )
    for name in BASELINES:
        base = result["baselines"].get(name, {}).get("tasks", {})
        pts = [(base[t]["success_rate"], y) for y, t in enumerate(tasks) if t in base]
        if pts:
            colour, marker, text = BASELINE_STYLE[name]
            ax.scatter(
                [p[0] for p in pts], [p[1] for p in pts], color=colour, marker=marker, zorder=3, label=text
            )
    ax.set_yticks(ys, [short(t) for t in tasks])
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("success rate (95% Wilson interval)")
    ax.set_title(f"suite {result['suite']['name']}: {result['overall']['episodes']} episodes")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def read_scalars(run_dir: str | Path) -> dict[str, list[tuple[int, float]]]:
    """tag -> [(step, value)] from every TensorBoard event file under `run_dir`, sorted by step."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    files = sorted(Path(run_dir).rglob("events.out.tfevents.*"))
    if not files:
        raise ValueError(f"learning curves: no TensorBoard event files under '{run_dir}'")
    out: dict[str, list[tuple[int, float]]] = {}
    for f in files:
        acc = EventAccumulator(str(f), size_guidance={"scalars": 0})  # 0: keep every point
        acc.Reload()
        for tag in acc.Tags()["scalars"]:
            out.setdefault(tag, []).extend((e.step, e.value) for e in acc.Scalars(tag))
    return {tag: sorted(points) for tag, points in out.items()}


def plot_learning_curves(run_dirs: list[str | Path], tags: list[str], path: Path) -> Path:
    """One panel per tag, one line per run: e.g. tags eval_success and train/loss of PPO and SFT runs."""
    plt = _pyplot()
    scalars = {str(d): read_scalars(d) for d in run_dirs}
    missing = [t for t in tags if not any(t in s for s in scalars.values())]
    if missing:
        known = sorted({t for s in scalars.values() for t in s})
        raise ValueError(f"--tag: {', '.join(missing)} not logged by any run; logged: {', '.join(known)}")
    fig, axes = plt.subplots(len(tags), 1, figsize=(8, 3 * len(tags)), squeeze=False)
    for ax, tag in zip(axes[:, 0], tags):
        for run, s in scalars.items():
            if tag in s:
                ax.plot([p[0] for p in s[tag]], [p[1] for p in s[tag]], marker=".", label=Path(run).name)
        ax.set_title(tag)
        ax.set_xlabel("step")
        ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
