"""RL task pools: (env id, seed) instances with difficulty statistics from the attempts in the store.

UI-TARS-2 trains RL on tasks the policy sometimes solves: always-solved tasks give no advantage signal and
never-solved ones no reward. `task_stats` counts attempts and successes per task instance from stored
trajectories (streamed, rows only), `select` keeps those whose success rate is in a band, and a pool is
saved as JSONL, one task a line:

    {"env_id": "agentrl/toy.click-target-v0", "seed": 3, "attempts": 8, "successes": 2,
     "success_rate": 0.25, "mean_steps": 1.5, "difficulty": 0.75}
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from agentrl.data.atomic import atomic_write
from agentrl.data.query import Query
from agentrl.data.store import TrajectoryStore


@dataclass(frozen=True)
class TaskStats:
    env_id: str
    seed: int
    attempts: int
    successes: int
    mean_steps: float

    @property
    def success_rate(self) -> float:
        return self.successes / self.attempts if self.attempts else 0.0

    @property
    def difficulty(self) -> float:
        return 1.0 - self.success_rate

    def to_dict(self) -> dict:
        return {**asdict(self), "success_rate": self.success_rate, "difficulty": self.difficulty}


def task_stats(store: TrajectoryStore, q: Query | None = None) -> list[TaskStats]:
    """Per (env id, seed): attempts, successes and mean episode length, over the trajectories `q` selects."""
    acc: dict[tuple[str, int], list[int]] = {}  # key -> [attempts, successes, steps]
    for _, table in store.tables(q, ["env_id", "seed", "success", "num_steps"]):
        cols = (table[c].to_pylist() for c in ("env_id", "seed", "success", "num_steps"))
        for env_id, seed, ok, steps in zip(*cols):
            a = acc.setdefault((env_id, seed), [0, 0, 0])
            a[0], a[1], a[2] = a[0] + 1, a[1] + int(ok), a[2] + steps
    return [TaskStats(e, s, n, k, steps / n) for (e, s), (n, k, steps) in sorted(acc.items())]


def select(
    tasks: Iterable[TaskStats], min_rate: float = 0.0, max_rate: float = 1.0, min_attempts: int = 1
) -> list[TaskStats]:
    """Tasks with `min_rate <= success rate <= max_rate` measured over at least `min_attempts` attempts."""
    return [t for t in tasks if t.attempts >= min_attempts and min_rate <= t.success_rate <= max_rate]


def save_pool(path: str | Path, tasks: Iterable[TaskStats]) -> Path:
    path = Path(path)
    atomic_write(path, "".join(json.dumps(t.to_dict(), sort_keys=True) + "\n" for t in tasks).encode())
    return path


def load_pool(path: str | Path) -> list[TaskStats]:
    out = []
    for n, line in enumerate(Path(path).read_text().splitlines(), 1):
        try:
            d = json.loads(line)
            out.append(
                TaskStats(
                    d["env_id"],
                    int(d["seed"]),
                    int(d["attempts"]),
                    int(d["successes"]),
                    float(d["mean_steps"]),
                )
            )
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
            raise ValueError(f"{path}:{n}: not a task line ({type(e).__name__}: {e})") from None
    return out
