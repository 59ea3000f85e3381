"""The flywheel's report: success per suite per iteration and stage beside the floors (random click, best
fixed click) and the ceiling (scripted expert), the V=1 fraction per iteration, and every stage's status.
Markdown for reading in a terminal or a PR, HTML with one SVG chart per suite for looking at."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from agentrl.eval.stats import fisher_exact
from agentrl.flywheel.config import FlywheelConfig

BASELINES = ("random_click", "best_fixed_click", "expert")
SIGNIFICANCE = 0.05


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


def points(cfg: FlywheelConfig, entries: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Every evaluated checkpoint in pipeline order: iteration, checkpoint name, success per task."""
    order = ["untrained", "sft", *[f"ppo-{d}" for d in cfg.domains], "merged"]
    out = []
    for it in range(cfg.iterations):
        e = entries.get(f"{it}/eval")
        if not e or e["status"] != "done":
            continue
        cks = e["summary"]["checkpoints"]
        for name in sorted(cks, key=lambda n: order.index(n) if n in order else len(order)):
            out.append({"iteration": it, "checkpoint": name, "success": cks[name]["success"]})
    return out


def suite_rows(cfg: FlywheelConfig, entries: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Per suite (domain): the mean success of each evaluated checkpoint over the suite's tasks, the
    baselines' means, and five verdicts: SFT above the random click and above the best fixed click, RL
    above the SFT checkpoint it started from, RL above each floor (on a grid layout the best fixed click
    can sit far below the random click: beating only the lower floor is not learning). A verdict holds only when the checkpoint is higher
    and Fisher's exact test (two-sided, on the suite's pooled episodes) gives p < 0.05: at tens of
    episodes a few points are noise. The checkpoint compared is the best of its kind (the p-value is
    therefore a little optimistic), and the comparison says which."""
    base = next(
        (
            e["summary"]["baselines"]
            for e in entries.values()
            if e["stage"] == "eval" and e["status"] == "done"
        ),
        {},
    )
    suites: dict[str, Any] = {}
    for domain, tasks in cfg.domains.items():
        rows = []
        for p in points(cfg, entries):
            if p["checkpoint"].startswith("ppo-") and p["checkpoint"] != f"ppo-{domain}":
                continue  # another domain's specialist
            rates = [p["success"][t] for t in tasks if t in p["success"]]
            rows.append({"iteration": p["iteration"], "checkpoint": p["checkpoint"], "mean": _mean(rates),
                         "tasks": {t: p["success"].get(t) for t in tasks}})  # fmt: skip
        floors = {b: _mean([base[t][b] for t in tasks if t in base]) for b in BASELINES} if base else {}
        n = sum(cfg.eval.episodes(t) for t in tasks)  # episodes behind every row's and floor's mean
        for r in rows:  # the suite's pooled successes (the mean is over tasks; the test is over episodes)
            r["successes"] = _successes(cfg, r["tasks"])
        floor_k = {b: _successes(cfg, {t: base.get(t, {}).get(b) for t in tasks}) for b in BASELINES}
        fixed = ("best fixed click", floor_k["best_fixed_click"])
        rand = ("random click", floor_k["random_click"])
        sft = [r for r in rows if r["checkpoint"] == "sft"]
        rl = [r for r in rows if r["checkpoint"] in ("merged", f"ppo-{domain}")]
        # each RL checkpoint with the SFT checkpoint of its iteration, where it started
        start_pairs = [(r, s) for r in rl for s in sft if s["iteration"] == r["iteration"]]
        best_gain = max(start_pairs, key=lambda rs: rs[0]["mean"] - rs[1]["mean"], default=None)
        comparisons = {
            "sft_above_random_click": _compare(_best(sft), rand, n),
            "sft_above_best_fixed_click": _compare(_best(sft), fixed, n),
            "rl_above_its_sft_start": _compare(
                best_gain and best_gain[0],
                best_gain and (f"{best_gain[1]['iteration']}/sft", best_gain[1]["successes"]),
                n,
            ),
            "rl_above_random_click": _compare(_best(rl), rand, n),
            "rl_above_best_fixed_click": _compare(_best(rl), fixed, n),
        }
        verdicts = {k: c["significant"] for k, c in comparisons.items()}
        suites[domain] = {"rows": rows, "baselines": floors, "verdicts": verdicts, "comparisons": comparisons,
                          "episodes": n, "tasks": tasks}  # fmt: skip
    return suites


def _best(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    return max(rows, key=lambda r: r["mean"], default=None)


def _successes(cfg: FlywheelConfig, rates: dict[str, float | None]) -> int | None:
    """Successful episodes behind per-task success rates (None when a task was not evaluated)."""
    if not rates or any(r is None or r != r for r in rates.values()):
        return None
    return round(sum(r * cfg.eval.episodes(t) for t, r in rates.items()))


def _compare(row: dict[str, Any] | None, other: tuple[str, int | None] | None, n: int) -> dict[str, Any]:
    """`row`'s successes against `other`'s (name, successes), both over `n` episodes: counts, p-value,
    verdict."""
    if row is None or other is None or row["successes"] is None or other[1] is None:
        return {"significant": False, "higher": False, "p_value": None, "compared": None}
    k1, k2 = row["successes"], other[1]
    return {**beats(k1, n, k2, n), "episodes": n,
            "compared": f"{row['iteration']}/{row['checkpoint']} {k1}/{n} vs {other[0]} {k2}/{n}"}  # fmt: skip


def beats(k: int, n: int, k_other: int, n_other: int) -> dict[str, Any]:
    """Does k/n successes beat k_other/n_other? Only when higher and Fisher's exact test (two-sided) gives
    p < SIGNIFICANCE: at tens of episodes a few points are noise. The one verdict every report and
    benchmark uses; the counts travel with it."""
    higher = k * n_other > k_other * n
    p = fisher_exact(k, n, k_other, n_other)
    return {"significant": higher and p < SIGNIFICANCE, "higher": higher, "p_value": p,
            "counts": f"{k}/{n} vs {k_other}/{n_other}"}  # fmt: skip


def _verdict_text(c: dict[str, Any]) -> str:
    if c["p_value"] is None:
        return "no (nothing to compare)"
    word = "yes" if c["significant"] else ("within noise" if c["higher"] else "no")
    return f"{word} ({c['compared']}, Fisher p = {c['p_value']:.2g})"


def v1_fractions(cfg: FlywheelConfig, entries: dict[str, dict[str, Any]]) -> dict[int, float]:
    """The V=1 fraction of the model's own rejection samples per iteration (UI-TARS-2 reports it rising)."""
    out = {}
    for it in range(cfg.iterations):
        e = entries.get(f"{it}/reject")
        if e and e["status"] == "done":
            out[it] = e["summary"]["v1_fraction"]
    return out


def write_report(cfg: FlywheelConfig, entries: dict[str, dict[str, Any]], out: Path) -> Path:
    suites = suite_rows(cfg, entries)
    v1 = v1_fractions(cfg, entries)
    data = {"suites": suites, "v1_fraction": v1, "stages": list(entries.values())}
    (out / "report.json").write_text(json.dumps(data, indent=2, default=str))
    md = _markdown(suites, v1, entries)
    (out / "report.md").write_text(md)
    (out / "report.html").write_text(_html(suites, v1, entries))
    return out / "report.md"


def _pct(x: float | None) -> str:
    return "–" if x is None or x != x else f"{x:.0%}"


def _markdown(suites: dict[str, Any], v1: dict[int, float], entries: dict[str, dict[str, Any]]) -> str:
    lines = ["# agentrl flywheel report", ""]
    for name, s in suites.items():
        short = [t.split("/")[-1].removesuffix("-v0") for t in s["tasks"]]
        lines += [f"## Suite `{name}` (held-out seeds, greedy)", "",
                  "| iteration | checkpoint | mean | " + " | ".join(short) + " |",
                  "|---|---|---|" + "---|" * len(short)]  # fmt: skip
        for r in s["rows"]:
            cells = " | ".join(_pct(r["tasks"][t]) for t in s["tasks"])
            lines.append(f"| {r['iteration']} | {r['checkpoint']} | **{_pct(r['mean'])}** | {cells} |")
        for b, v in s["baselines"].items():
            lines.append(f"| – | {b.replace('_', ' ')} | {_pct(v)} | |")
        lines += [""] + [
            f"- {k.replace('_', ' ')}: **{_verdict_text(c)}**" for k, c in s["comparisons"].items()
        ]
        lines.append("")
    lines += ["## V=1 fraction of the model's own samples (rejection sampling)", ""]
    lines += [f"- iteration {it}: {_pct(f)}" for it, f in v1.items()] or ["- (no rejection sampling ran)"]
    lines += ["", "## Stages", "", "| iteration | stage | status | seconds |", "|---|---|---|---|"]
    for e in entries.values():
        lines.append(f"| {e['iteration']} | {e['stage']} | {_status(e)} | {e.get('seconds', '')} |")
    return "\n".join(lines) + "\n"


def _status(entry: dict[str, Any]) -> str:
    """A stage's status, and whether its training stopped at its time budget (TrainStage.time_budget_s)."""
    stopped = (entry.get("summary") or {}).get("stopped_at_budget")
    return entry["status"] + (" (stopped at its time budget)" if stopped else "")


def _svg(s: dict[str, Any], width: int = 640, height: int = 260) -> str:
    rows = s["rows"]
    if not rows:
        return "<p>(no evaluation yet)</p>"
    pad, n = 40, len(rows)
    x = lambda i: pad + (width - 2 * pad) * (i / max(n - 1, 1))  # noqa: E731
    y = lambda v: height - pad - (height - 2 * pad) * v  # noqa: E731
    parts = [f'<svg width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg" font-size="11">',
             f'<line x1="{pad}" y1="{y(0)}" x2="{width - pad}" y2="{y(0)}" stroke="#999"/>',
             f'<text x="4" y="{y(1) + 4}">100%</text><text x="12" y="{y(0) + 4}">0%</text>']  # fmt: skip
    colours = {"random_click": "#d62728", "best_fixed_click": "#ff7f0e", "expert": "#2ca02c"}
    for b, v in s["baselines"].items():
        if v == v:
            parts.append(
                f'<line x1="{pad}" y1="{y(v):.1f}" x2="{width - pad}" y2="{y(v):.1f}" stroke="{colours[b]}" stroke-dasharray="4 3"/>'
            )
            parts.append(
                f'<text x="{width - pad + 2}" y="{y(v) + 4:.1f}" fill="{colours[b]}">{b.split("_")[0]}</text>'
            )
    pts = " ".join(
        f"{x(i):.1f},{y(r['mean'] if r['mean'] == r['mean'] else 0):.1f}" for i, r in enumerate(rows)
    )
    parts.append(f'<polyline points="{pts}" fill="none" stroke="#1f77b4" stroke-width="2"/>')
    for i, r in enumerate(rows):
        parts.append(
            f'<circle cx="{x(i):.1f}" cy="{y(r["mean"] if r["mean"] == r["mean"] else 0):.1f}" r="3" fill="#1f77b4"/>'
        )
        parts.append(
            f'<text x="{x(i) - 14:.1f}" y="{height - 12}">{r["iteration"]}:{html.escape(r["checkpoint"][:9])}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts)


def _html(suites: dict[str, Any], v1: dict[int, float], entries: dict[str, dict[str, Any]]) -> str:
    body = ["<h1>agentrl flywheel report</h1>"]
    for name, s in suites.items():
        body.append(f"<h2>Suite {html.escape(name)}</h2>")
        body.append(_svg(s))
        head = "".join(f"<th>{html.escape(t.split('/')[-1])}</th>" for t in s["tasks"])
        body.append(f"<table><tr><th>iteration</th><th>checkpoint</th><th>mean</th>{head}</tr>")
        for r in s["rows"]:
            cells = "".join(f"<td>{_pct(r['tasks'][t])}</td>" for t in s["tasks"])
            body.append(
                f"<tr><td>{r['iteration']}</td><td>{html.escape(r['checkpoint'])}</td><td><b>{_pct(r['mean'])}</b></td>{cells}</tr>"
            )
        for b, v in s["baselines"].items():
            body.append(f"<tr class='base'><td>–</td><td>{b.replace('_', ' ')}</td><td>{_pct(v)}</td></tr>")
        body.append("</table><ul>")
        body += [
            f"<li>{k.replace('_', ' ')}: <b>{html.escape(_verdict_text(c))}</b></li>"
            for k, c in s["comparisons"].items()
        ]
        body.append("</ul>")
    body.append("<h2>V=1 fraction per iteration</h2><ul>")
    body += [f"<li>iteration {it}: {_pct(f)}</li>" for it, f in v1.items()]
    body.append(
        "</ul><h2>Stages</h2><table><tr><th>iteration</th><th>stage</th><th>status</th><th>seconds</th></tr>"
    )
    for e in entries.values():
        body.append(
            f"<tr><td>{e['iteration']}</td><td>{e['stage']}</td><td>{_status(e)}</td><td>{e.get('seconds', '')}</td></tr>"
        )
    body.append("</table>")
    style = "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px}tr.base{color:#777}"
    return f"<!doctype html><html><head><meta charset='utf-8'><title>agentrl flywheel report</title><style>{style}</style></head><body>{''.join(body)}</body></html>\n"
