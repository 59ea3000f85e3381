"""Merging vertical agents: two specialists fine-tuned from one SFT base on different task groups, merged
by `agentrl merge`, each model's success per group on held-out test seeds.

    python benchmarks/merge_specialists.py --base SFT_DIR --store STORE [--steps 200] [--test-episodes 20]

The SFT base is a tiny model SFT'd on all four tasks' expert demonstrations (e.g. benchmarks/sft_learns.py's
step-500 checkpoint). Specialist A continues SFT on group A (toy click-target, MiniWoB click-button),
specialist B on group B (MiniWoB click-link, click-widget), from the same base, same steps and lr
(`agentrl train sft`, data.tasks filter). Then:
- `agentrl merge search` over alpha in {0, .25, .5, .75, 1} on validation seeds 2,000,000.. (suite
  click-groups in configs/merge_suites.yaml), writing the best merge and the success-vs-alpha plot;
- the base, A, B, the 0.5/0.5 merge and the searched merge played greedily on test seeds 1,000,000..

Writes benchmarks/results/merge_specialists.json; top-level "ratio" = the 0.5/0.5 merge's mean success
over both groups / the better specialist's mean over both groups (1 = the merge keeps both verticals as
well as the best single specialist does; higher is better). A ratio is not a verdict: "verdicts" says
which model beats which, each by Fisher's exact test at p < 0.05 on the pooled test episodes, with the
counts (agentrl.flywheel.report.beats); `--verdicts-only` recomputes them from an existing results file.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, WORK, machine  # noqa: E402

GROUPS = {
    "A": ["agentrl/toy.click-target-v0", "agentrl/miniwob.click-button-v0"],
    "B": ["agentrl/miniwob.click-link-v0", "agentrl/miniwob.click-widget-v0"],
}
TEST_SEED0 = 1_000_000
ROOT = WORK / "merge_specialists"


def specialist(base: Path, store: Path, group: str, steps: int, lr: float) -> Path:
    out = ROOT / f"spec-{group}-{steps}"
    if not (out / "final" / "COMPLETE").exists():
        tasks = "[" + ",".join(GROUPS[group]) + "]"
        cmd = [sys.executable, "-m", "agentrl", "train", "sft", f"model={base}", f"data.store={store}",
               f"data.tasks={tasks}", f"output_dir={out}", f"steps={steps}", "learner.local=true",
               f"optim.lr={lr}", "optim.warmup_steps=10", "data.shuffle_buffer=2000", "log_every=10",
               f"checkpoint.save_every_steps={steps}"]  # fmt: skip
        subprocess.run(cmd, check=True)
    return out / "final"


VERDICTS = (  # (model, other, group or "both"): does `model` beat `other` on that group's test episodes?
    ("specialist_A", "sft_base", "A"),
    ("specialist_B", "sft_base", "B"),
    ("merged_0.5", "sft_base", "both"),
    ("merged_0.5", "specialist_A", "both"),
    ("merged_0.5", "specialist_B", "both"),
    ("merged_search", "sft_base", "both"),
)


def verdicts(table: dict, episodes: int) -> dict:
    """Each VERDICTS row as Fisher's test on successes pooled over the group's tasks (`episodes` per task)."""
    from agentrl.flywheel.report import beats

    out = {}
    for model, other, group in VERDICTS:
        tasks = [t for g, ts in GROUPS.items() if group in (g, "both") for t in ts]
        k, k2 = (sum(round(table[m]["per_task"][t] * episodes) for t in tasks) for m in (model, other))
        out[f"{model} > {other} ({group})"] = beats(k, episodes * len(tasks), k2, episodes * len(tasks))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", type=Path)
    ap.add_argument("--store", type=Path)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--test-episodes", type=int, default=20)
    ap.add_argument("--search-episodes", type=int, default=8)
    ap.add_argument("--verdicts-only", action="store_true", help="add verdicts to the existing results file")
    args = ap.parse_args()
    if args.verdicts_only:
        path = RESULTS / "merge_specialists.json"
        result = json.loads(path.read_text())
        n = result["test_seeds"][1] - result["test_seeds"][0] + 1
        result["verdicts"] = verdicts(result["success"], n)
        path.write_text(json.dumps(result, indent=2) + "\n")
        print(json.dumps(result["verdicts"], indent=2))
        return
    if args.base is None or args.store is None:
        ap.error("--base and --store are required (unless --verdicts-only)")
    from agentrl.cli import main as cli
    from agentrl.merge.search import play_success

    ROOT.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    spec = {g: specialist(args.base, args.store, g, args.steps, args.lr) for g in GROUPS}
    train_s = time.monotonic() - t0
    half = ROOT / "merged-0.5"
    if not (half / "config.json").exists():
        assert cli(["merge", "--base", str(args.base), "--ckpt", f"{spec['A']}:0.5", "--ckpt", f"{spec['B']}:0.5",
                    "-o", str(half)]) == 0  # fmt: skip
    searched = ROOT / "merged-search"
    shutil.rmtree(searched, ignore_errors=True)
    assert cli(["merge", "search", "--base", str(args.base), "--ckpt", str(spec["A"]), "--ckpt", str(spec["B"]),
                "--suite", "click-groups", "--episodes", str(args.search_episodes), "--resolution", "4",
                "-o", str(searched), "--work", str(ROOT / "search")]) == 0  # fmt: skip
    search = json.loads((ROOT / "search" / "search_result.json").read_text())
    models = {"sft_base": args.base, "specialist_A": spec["A"], "specialist_B": spec["B"],
              "merged_0.5": half, "merged_search": searched}  # fmt: skip
    tasks = [t for g in GROUPS.values() for t in g]
    table = {}
    for name, path in models.items():
        per_task = play_success(path, tasks, args.test_episodes, TEST_SEED0)
        groups = {g: sum(per_task[t] for t in ts) / len(ts) for g, ts in GROUPS.items()}
        table[name] = {"per_task": per_task, "per_group": groups, "mean": sum(groups.values()) / len(groups)}
        print(
            f"{name:14s} A {groups['A']:.3f}  B {groups['B']:.3f}  mean {table[name]['mean']:.3f}", flush=True
        )
    best_specialist = max(table["specialist_A"]["mean"], table["specialist_B"]["mean"])
    result = {
        "benchmark": "merge_specialists",
        "machine": machine(),
        "groups": GROUPS,
        "sft_base": str(args.base),
        "specialist_steps": args.steps,
        "lr": args.lr,
        "test_seeds": [TEST_SEED0, TEST_SEED0 + args.test_episodes - 1],
        "search": {
            "alphas_vs_validation_mean": [[r["alphas"], r["mean"]] for r in search["rows"]],
            "best": search["best"]["alphas"],
            "episodes_per_task": args.search_episodes,
        },  # fmt: skip
        "success": table,
        "ratio": round(table["merged_0.5"]["mean"] / best_specialist, 3) if best_specialist else None,
        "ratio_means": "0.5/0.5 merge mean success over both groups / best specialist's (higher is better)",
        "verdicts": verdicts(table, args.test_episodes),
        "seconds": {"train": round(train_s, 1), "total": round(time.monotonic() - t0, 1)},
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "merge_specialists.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
