"""Two evaluations side by side: per task the success of A and B, the difference B - A, and whether it is
significant (pooled two-proportion z-test; Fisher's exact test beside it, as counts are small)."""

from __future__ import annotations

from typing import Any

from agentrl.eval.results import short
from agentrl.eval.stats import fisher_exact, two_proportion_z

ALPHA = 0.05


def compare(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Rows for the tasks both results have (A's order), the pooled total, and what differs in setup."""
    rows = []
    for task in [t for t in a["tasks"] if t in b["tasks"]]:
        rows.append(_row(task, a["tasks"][task], b["tasks"][task]))
    pooled = {
        key: {"episodes": r["episodes"], "successes": r["successes"]}
        for key, r in (("a", a["overall"]), ("b", b["overall"]))
    }
    total = _row("all tasks (pooled)", {**pooled["a"]}, {**pooled["b"]})
    notes = []
    for key in ("suite", "agent"):
        if a.get(key) != b.get(key):
            notes.append(f"the two evaluations differ in {key}: read the difference with care")
    only = sorted(set(a["tasks"]) ^ set(b["tasks"]))
    if only:
        notes.append(f"tasks in one result only (left out): {', '.join(short(t) for t in only)}")
    return {
        "a": a["policy"]["label"],
        "b": b["policy"]["label"],
        "rows": rows,
        "total": total,
        "notes": notes,
    }


def _row(task: str, ra: dict[str, Any], rb: dict[str, Any]) -> dict[str, Any]:
    ka, na, kb, nb = ra["successes"], ra["episodes"], rb["successes"], rb["episodes"]
    pa, pb = ka / na if na else 0.0, kb / nb if nb else 0.0
    z, p = two_proportion_z(ka, na, kb, nb)
    return {"task": task, "a": pa, "na": na, "b": pb, "nb": nb, "diff": pb - pa, "z": z, "p": p,
            "p_fisher": fisher_exact(ka, na, kb, nb), "significant": p < ALPHA}  # fmt: skip


def markdown(c: dict[str, Any]) -> str:
    lines = [
        "# Comparison", "", f"- A: {c['a']}", f"- B: {c['b']}", "",
        f"Difference B - A; two-sided p of the pooled two-proportion z-test (and Fisher's exact test); "
        f"**bold**: significant at {ALPHA}.", "",
        "| task | A | B | B - A | z | p | p (Fisher) |", "|---|---|---|---|---|---|---|",
    ]  # fmt: skip
    for r in [*c["rows"], c["total"]]:
        diff = f"{r['diff']:+.0%}"
        if r["significant"]:
            diff = f"**{diff}**"
        name = short(r["task"]) if "/" in r["task"] else r["task"]
        lines.append(
            f"| {name} | {r['a']:.0%} ({r['na']}) | {r['b']:.0%} ({r['nb']}) | {diff} | {r['z']:+.2f} | "
            f"{r['p']:.3g} | {r['p_fisher']:.3g} |"
        )
    lines += ["", *[f"- note: {n}" for n in c["notes"]], ""]
    return "\n".join(lines)
