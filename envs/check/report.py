"""What a check found: one `Contract` line per contract (status, detail, and how to fix a failure), the
latency of every call, and the scripted expert's success rate."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

PASS, WARN, FAIL, SKIP = "pass", "warn", "fail", "skip"


@dataclass(frozen=True)
class Contract:
    """One contract's result in a report."""

    name: str
    status: str  # pass, warn, fail, skip
    detail: str = ""
    fix: str = ""


@dataclass
class CheckReport:
    env_id: str
    contracts: list[Contract] = field(default_factory=list)
    latency_s: dict[str, list[float]] = field(default_factory=dict)  # "reset"/"step" -> every call's time
    expert_success_rate: float | None = None

    @property
    def ok(self) -> bool:
        return all(c.status != FAIL for c in self.contracts)

    def get(self, name: str) -> Contract:
        return next(c for c in self.contracts if c.name == name)

    def failed(self) -> list[Contract]:
        return [c for c in self.contracts if c.status == FAIL]

    def add(self, name: str, status: str, detail: str = "", fix: str = "") -> None:
        self.contracts.append(Contract(name, status, detail, fix))

    def latency_summary(self) -> str:
        """Reset and step latency percentiles, e.g. 'reset p50 40 ms, p95 52 ms (n=5); step ...'."""
        parts = []
        for kind in ("reset", "step"):
            xs = self.latency_s.get(kind)
            if xs:
                p50, p95 = np.percentile(xs, [50, 95]) * 1000
                parts.append(f"{kind} p50 {p50:.0f} ms, p95 {p95:.0f} ms (n={len(xs)})")
        return "; ".join(parts)
