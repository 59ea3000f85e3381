"""Benchmark suites: named sets of env ids with held-out seeds, one YAML file each in configs/suites/.

    name: miniwob-easy
    episodes_per_task: 50          # default of `agentrl eval --episodes`
    seed_start: 1000000            # episode i of a task plays seed seed_start + i
    max_steps: 8                   # the agent's step budget per episode
    tasks: [agentrl/miniwob.click-button-v0, ...]

Seeds below `EVAL_SEED_START` (1,000,000) are training seeds (the PPO loop draws its episodes there), so a
suite may not start below it. A suite is named (a file in configs/suites/) or given as a path to a YAML file
of the same form. An unknown suite or task is refused with the closest names.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator

from agentrl.config import EVAL_SEED_START, ConfigError, StrictModel, load_config
from agentrl.eval.plans import Plan, seed_major

SUITES_DIR = Path(__file__).resolve().parents[2] / "configs" / "suites"


class Suite(StrictModel):
    name: str
    description: str = ""
    tasks: list[str] = Field(min_length=1)
    episodes_per_task: int = Field(20, ge=1)
    seed_start: int = EVAL_SEED_START
    max_steps: int = Field(10, ge=1)  # agent steps per episode, on top of the env's own budget
    env_kwargs: dict[str, Any] = {}  # passed to every envs.make

    @field_validator("seed_start")
    @classmethod
    def _held_out(cls, v: int) -> int:
        if v < EVAL_SEED_START:
            raise ValueError(f"must be >= {EVAL_SEED_START:,} (seeds below it are training seeds)")
        return v

    @field_validator("tasks")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        dup = sorted({t for t in v if v.count(t) > 1})
        if dup:
            raise ValueError(f"listed twice: {', '.join(dup)}")
        return v

    def seeds(self, episodes: int | None = None) -> list[int]:
        """The held-out seeds every task plays: seed_start, seed_start + 1, ..."""
        return list(range(self.seed_start, self.seed_start + (episodes or self.episodes_per_task)))

    def plan(self, episodes: int | None = None) -> Plan:
        """Every (env id, seed) episode of the suite, seed-major so early results cover every task."""
        return seed_major(self.tasks, episodes or self.episodes_per_task, self.seed_start)


def suite_names() -> list[str]:
    return sorted(p.stem for p in SUITES_DIR.glob("*.yaml"))


def load_suite(name_or_path: str | Path, check_tasks: bool = True) -> Suite:
    """A suite by name (configs/suites/NAME.yaml) or by path; its tasks are checked against the env
    registry. Raises ConfigError naming the suite or task, with the closest known names."""
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or p.is_file():
        if not p.is_file():
            raise ConfigError(f"suite: file '{p}' does not exist")
    else:
        p = SUITES_DIR / f"{name_or_path}.yaml"
        if not p.is_file():
            close = difflib.get_close_matches(str(name_or_path), suite_names(), n=3, cutoff=0.4)
            hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            raise ConfigError(
                f"suite: unknown '{name_or_path}'{hint} (known: {', '.join(suite_names())}; "
                "or give a path to a suite YAML file)"
            )
    suite = load_config(Suite, p)
    if check_tasks:
        check_suite_tasks(suite)
    return suite


def check_suite_tasks(suite: Suite) -> None:
    import envs

    for task in suite.tasks:
        try:
            envs.spec(task)
        except envs.UnknownEnvError as e:
            raise ConfigError(f"suite '{suite.name}': task {e}") from None
