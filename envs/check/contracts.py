"""The contracts, as a table: each is a name, a small function that checks it, and the fix text a failure
shows. `check_env` runs the table in order on one env held by a sandboxed worker.

A contract's function returns (status, detail), which is filed under its own name. Two things are filed
elsewhere, each by what it is rather than by where the check had got to:

- `Broken(contract, detail)`: a contract found broken in a way that leaves nothing sensible to check after
  it (a malformed observation seen while playing is the observation contract's failure); the check stops.
- a call that raised or hung (`EnvRaised`, `EnvHung`): filed under the contract whose function made the
  call, except the calls one contract owns wherever they are made (`CALL_OWNERS`: the expert's action
  belongs to the expert contract, close() to the clean-close one), with the call's fix text; the check
  stops.
"""

from __future__ import annotations

import random
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from envs.check.report import FAIL, PASS, SKIP, WARN, CheckReport
from envs.check.sandbox import CallLimits, EnvHung, EnvRaised, Worker

JUNK_ACTIONS = ("", "Action: fly(to='the moon')", "click(start_box='(99999,99999)')", "Thought: hmm\nAction:")
Outcome = tuple[str, str]  # (status, detail)


class Broken(Exception):
    """`contract` failed with `detail`, and nothing after it can be checked sensibly."""

    def __init__(self, contract: str, detail: str) -> None:
        super().__init__(f"{contract}: {detail}")
        self.contract = contract
        self.detail = detail


@dataclass
class _Played:
    seed: int
    steps: int
    ended: bool
    success: bool
    policy: str
    bad: str = ""  # a wrong type returned by step


@dataclass
class Session:
    """One check in progress: the worker holding the env, and what one contract hands to the next."""

    env_id: str
    worker: Worker
    limits: CallLimits
    report: CheckReport
    step_cap: int
    env_kwargs: dict[str, Any]
    episodes: int
    seed: int
    info: dict[str, Any] = field(default_factory=dict)  # what the last make returned
    handle: int = -1  # the instance being checked
    first: dict[str, Any] = field(default_factory=dict)  # its first observation (on `seed`)
    played: list[_Played] = field(default_factory=list)
    baseline: dict[str, set] = field(default_factory=dict)  # resources a leak is measured against

    def timed(self, kind: str, cmd: str, *args: Any, limit_s: float) -> Any:
        value, seconds = self.worker.call(cmd, *args, timeout_s=limit_s)
        self.report.latency_s.setdefault(kind, []).append(seconds)
        return value

    def make(self) -> int:
        self.info = self.timed("make", "make", self.env_id, self.env_kwargs, limit_s=self.limits.make_s)
        return self.info["handle"]

    def reset(self, h: int, seed: int) -> dict[str, Any]:
        obs, info, contained = self.timed("reset", "reset", h, seed, limit_s=self.limits.reset_s)
        problem = _obs_problem(obs, contained) or (
            "" if isinstance(info, dict) else f"info is {type(info).__name__}"
        )
        if problem:
            raise Broken("observation", f"reset(seed={seed}): {problem}")
        return obs

    def step(self, h: int, action: str) -> tuple:
        return self.timed("step", "step", h, action, limit_s=self.limits.step_s)

    def play(self, h: int, seed: int) -> _Played:
        """One episode on `seed`, by the scripted expert where there is one, else by random clicks."""
        obs = self.reset(h, seed)
        height, width = obs["screenshot"].shape[:2]
        rng = random.Random(seed)
        expert = self.info["has_expert"]
        policy = "expert" if expert else "random"
        for steps in range(1, self.step_cap + 1):
            if expert:
                action = self.timed("expert", "expert", h, limit_s=self.limits.step_s)
            else:
                action = f"Action: click(start_box='({rng.randrange(width)},{rng.randrange(height)})')"
            obs, reward, terminated, truncated, info, contained = self.step(h, action)
            bad = _obs_problem(obs, contained) or _types_problem(reward, terminated, truncated, info)
            if bad or terminated or truncated:
                success = (
                    bool(info.get("success", terminated and reward > 0)) if isinstance(info, dict) else False
                )
                return _Played(seed, steps, True, success, policy, bad)
        return _Played(seed, self.step_cap, False, False, policy)

    def close(self, h: int, grace_s: float) -> tuple[dict[str, set], dict[str, set]]:
        """Close instance `h`: (what is there now, what is there beyond the baseline), the second after
        waiting up to `grace_s` for the env's processes to exit."""
        self.timed("close", "close", h, limit_s=self.limits.close_s)
        deadline = time.monotonic() + grace_s
        while True:
            now = self.worker.resources()
            leaked = {k: now[k] - self.baseline[k] for k in now}
            if not any(leaked.values()) or time.monotonic() > deadline:
                return now, leaked
            time.sleep(0.1)


# -- the contracts, in the order they run ------------------------------------------------------------------
def check_make(s: Session) -> Outcome:
    """The registered entry point constructs the env."""
    s.baseline = s.worker.resources()
    s.handle = s.make()
    return PASS, f"{s.info['type']}" + (" with a scripted expert" if s.info["has_expert"] else "")


def check_observation(s: Session) -> Outcome:
    """reset returns {"screenshot": (H, W, 3) uint8, "instruction": non-empty str, optional "text": str},
    inside `observation_space` (step's observations are held to the same, wherever they are seen)."""
    obs = s.first = s.reset(s.handle, s.seed)
    shot = obs["screenshot"]
    return PASS, (f"screenshot {shot.shape[1]}x{shot.shape[0]}, instruction {obs['instruction'][:50]!r}"
                  + (", text" if "text" in obs else ""))  # fmt: skip


def check_actions(s: Session) -> Outcome:
    """Junk action text gives reward 0, a non-empty info["action_error"], and the episode goes on."""
    for junk in JUNK_ACTIONS:
        obs, reward, terminated, truncated, info, contained = s.step(s.handle, junk)
        error = info.get("action_error") if isinstance(info, dict) else None
        problem = _obs_problem(obs, contained)
        if problem:
            raise Broken("observation", f"step({junk!r}): {problem}")
        if not (isinstance(error, str) and error) or reward != 0 or terminated:
            detail = f"step({junk!r}) gave reward {reward}, terminated={terminated}, action_error={error!r}"
            return FAIL, detail
        if truncated:
            break
    return PASS, f"{len(JUNK_ACTIONS)} malformed actions answered with action_error"


def check_termination(s: Session) -> Outcome:
    """Every episode ends (terminated or truncated) within the step cap."""
    s.played = [s.play(s.handle, s.seed + i) for i in range(s.episodes)]
    bad = next((p for p in s.played if p.bad), None)
    if bad:
        raise Broken("observation", f"step on seed {bad.seed}: {bad.bad}")
    endless = next((p for p in s.played if not p.ended), None)
    if endless:
        raise Broken("termination", f"seed {endless.seed}: no terminated or truncated after {s.step_cap} "
                     f"steps ({endless.policy} policy)")  # fmt: skip
    steps = [p.steps for p in s.played]
    return PASS, f"{len(s.played)} episodes ended after {min(steps)}-{max(steps)} steps"


def check_expert(s: Session) -> Outcome:
    """Where a scripted expert exists (`expert_action`), it succeeds in the episodes played (its rate is
    reported)."""
    if not s.info["has_expert"]:
        return SKIP, "no scripted expert (define expert_action() to get one checked)"
    wins = sum(p.success for p in s.played)
    s.report.expert_success_rate = wins / len(s.played)
    detail = f"{wins}/{len(s.played)} episodes solved by the scripted expert"
    return (FAIL if wins == 0 else PASS if wins == len(s.played) else WARN), detail


def check_isolation(s: Session) -> Outcome:
    """Nothing from one episode is visible in the next: the same seed gives the same first observation."""
    diff = _same(s.first, s.reset(s.handle, s.seed))
    n = len(s.played)
    if diff:
        return FAIL, f"reset(seed={s.seed}) after {n} played episodes differs from the first reset(seed={s.seed}): {diff}"  # fmt: skip
    return PASS, f"reset(seed={s.seed}) after {n} episodes matches the first"


def check_determinism(s: Session) -> Outcome:
    """The same seed gives the same first screenshot and instruction in a fresh instance. The first
    instance is closed before the second is made: the first round of the clean-close check, whose
    leftovers become the baseline of the second."""
    s.baseline, _ = s.close(s.handle, grace_s=0.0)
    s.handle = s.make()
    diff = _same(s.first, s.reset(s.handle, s.seed))
    if diff:
        return FAIL, f"reset(seed={s.seed}) in a fresh instance differs: {diff}"
    return PASS, f"reset(seed={s.seed}) in a fresh instance gives the same observation"


def check_clean_close(s: Session) -> Outcome:
    """close() releases what the env acquired: the second instance, played and closed, leaves no stray
    processes, temp files or listening ports beyond what the first round left (a browser or X server shared
    by every env in a process is started once and is not a leak)."""
    s.play(s.handle, s.seed + s.episodes)
    _, leaked = s.close(s.handle, grace_s=s.limits.exit_grace_s)
    if any(leaked.values()):
        what = "; ".join(f"{k}: {', '.join(sorted(_name(x) for x in v))}" for k, v in leaked.items() if v)
        return FAIL, f"after a second make/play/close, still there: {what}"
    return PASS, "make/play/close twice leaves nothing new behind"


def check_latency(s: Session) -> Outcome:
    """Reset and step latency percentiles (reported; never fails)."""
    summary = s.report.latency_summary()
    return (PASS, summary) if summary else (SKIP, "no call completed")


@dataclass(frozen=True)
class ContractCheck:
    name: str
    check: Callable[[Session], Outcome]
    fix: str  # shown with a failure of this contract
    always: bool = False  # runs even after an earlier contract stopped the check


OBS_FIX = (
    "return obs = {'screenshot': np.ndarray (H, W, 3) uint8, 'instruction': str, optional 'text': str} that "
    "lies in observation_space (GUIEnv builds it from _screenshot() and _reset_task()'s instruction)"
)
TABLE: tuple[ContractCheck, ...] = (
    ContractCheck("make", check_make, ""),  # it fails only by raising: the make call's fix applies
    ContractCheck("observation", check_observation, OBS_FIX),
    ContractCheck(
        "actions", check_actions,
        "a malformed action must give reward 0, a non-empty info['action_error'] and let the episode go "
        "on (GUIEnv does this when _execute raises ActionError for actions it cannot perform)",
    ),
    ContractCheck(
        "termination", check_termination,
        "give the env a step budget (GUIEnv's max_steps) and return truncated=True when it runs out; "
        "end the episode (terminated=True) when the task is done or failed",
    ),
    ContractCheck(
        "expert", check_expert,
        "the expert never succeeds: either expert_action() or the task's checker (_evaluate) is wrong",
    ),
    ContractCheck(
        "isolation", check_isolation,
        "reset() must restore all task state (page, app, files, scroll, focus): start each episode from a "
        "fresh browser context or app state, and draw everything random from the seed",
    ),
    ContractCheck(
        "determinism", check_determinism,
        "draw every random choice of the task from the reset seed (random.Random(seed), Math.seedrandom), "
        "not from time, global state or an unseeded generator",
    ),
    ContractCheck(
        "clean close", check_clean_close,
        "close() must stop every process the env started (terminate, then kill after a timeout), remove its "
        "temp dirs and close its servers; a resource shared by all envs in a process must be started once",
    ),
    ContractCheck("latency", check_latency, "", always=True),
)  # fmt: skip
CONTRACTS = tuple(c.name for c in TABLE)
_FIX = {c.name: c.fix for c in TABLE}

# A call that raised: how to fix it. A call that hung gets the bounded-time fix instead.
CALL_FIXES = {
    "make": "the registered entry point ('module:Class') and kwargs must construct the env without raising",
    "reset": "reset(seed=...) must not raise for any non-negative seed; a fault in the env's own machinery "
    "(a page that never loads, an app that crashed) belongs in EnvFault, which GUIEnv turns into truncation",
    "step": "step() must not raise for any action text: parse errors go to info['action_error'] and env "
    "faults end the episode truncated (GUIEnv does both; raise ActionError or EnvFault from _execute)",
    "expert": "expert_action() must return the next action text for the current state",
    "close": "close() must not raise or block: stop what the env started (processes, contexts, servers)",
}
CALL_OWNERS = {"expert": "expert", "close": "clean close"}  # filed under these wherever they fail


def check_env(
    env_id: str,
    episodes: int = 3,
    seed: int = 0,
    limits: CallLimits | None = None,
    step_cap: int = 200,
    env_kwargs: dict[str, Any] | None = None,
) -> CheckReport:
    """Check every contract of `env_id` (a registered id or `pkg.module:EnvClass`); never hangs.

    `episodes` episodes are played on seeds seed, seed+1, ... with the scripted expert where one exists
    (else random clicks); one more is played in a second instance for the determinism and leak checks.
    """
    if episodes < 1:
        raise ValueError(f"episodes: must be >= 1, got {episodes}")
    tmpdir = tempfile.mkdtemp(prefix="agentrl-envs-check-")
    s = Session(env_id, Worker(tmpdir), limits or CallLimits(), CheckReport(env_id), step_cap,
                env_kwargs or {}, episodes, seed)  # fmt: skip
    try:
        run_table(s)
    finally:
        s.worker.shutdown()
        shutil.rmtree(tmpdir, ignore_errors=True)
    return s.report


def run_table(s: Session, table: tuple[ContractCheck, ...] = TABLE) -> None:
    """Run each contract in turn until one stops the check; those that did not run are skipped."""
    report, stopped = s.report, False
    for contract in table:
        if stopped and not contract.always:
            continue
        try:
            status, detail = contract.check(s)
            report.add(contract.name, status, detail, contract.fix if status == FAIL else "")
        except Broken as e:
            report.add(e.contract, FAIL, e.detail, _FIX[e.contract])
            stopped = True
        except (EnvRaised, EnvHung) as e:
            _file_call_failure(report, contract.name, e)
            stopped = True
    done = {c.name for c in report.contracts}
    reason = f"not run: {s.worker.dead or 'an earlier contract failed'}"
    for contract in table:
        if contract.name not in done:
            report.add(contract.name, SKIP, reason)
    order = [c.name for c in table]
    report.contracts.sort(key=lambda c: order.index(c.name.split(" (")[0]))


def _file_call_failure(report: CheckReport, running: str, e: EnvRaised | EnvHung) -> None:
    name = CALL_OWNERS.get(e.call, running)
    if isinstance(e, EnvHung):
        fix = (
            f"every {e.call} must return in bounded time: put a timeout on every wait "
            "(page loads, app start, subprocesses) and turn an expired one into EnvFault"
        )
    else:
        fix = CALL_FIXES.get(e.call, "")
    if name in {c.name for c in report.contracts}:
        name = f"{name} ({e.call})"  # a second failure of a contract already reported
    report.add(name, FAIL, str(e), fix)


# -- what the contracts compare -----------------------------------------------------------------------------
def _obs_problem(obs: Any, contained: bool) -> str:
    if not isinstance(obs, dict):
        return f"the observation is {type(obs).__name__}, not a dict"
    shot = obs.get("screenshot")
    if not isinstance(shot, np.ndarray):
        return f"obs['screenshot'] is {type(shot).__name__}, not a numpy array"
    if shot.ndim != 3 or shot.shape[2] != 3 or shot.dtype != np.uint8:
        return f"obs['screenshot'] is {shot.dtype} {shot.shape}, not (H, W, 3) uint8"
    if not isinstance(obs.get("instruction"), str) or not obs["instruction"].strip():
        return f"obs['instruction'] is {obs.get('instruction')!r}, not a non-empty string"
    if "text" in obs and not isinstance(obs["text"], str):
        return f"obs['text'] is {type(obs['text']).__name__}, not a string"
    extra = set(obs) - {"screenshot", "instruction", "text"}
    if extra:
        return f"unexpected observation keys {sorted(extra)}"
    if not contained:
        return "the observation is not inside observation_space (shape, dtype or keys differ)"
    return ""


def _types_problem(reward: Any, terminated: Any, truncated: Any, info: Any) -> str:
    if not isinstance(reward, (int, float, np.floating, np.integer)) or isinstance(reward, bool):
        return f"reward is {type(reward).__name__}, not a float"
    if not isinstance(terminated, (bool, np.bool_)) or not isinstance(truncated, (bool, np.bool_)):
        return f"terminated/truncated are {type(terminated).__name__}/{type(truncated).__name__}, not bool"
    if not isinstance(info, dict):
        return f"info is {type(info).__name__}, not a dict"
    return ""


def _same(a: dict[str, Any], b: dict[str, Any], tolerance: float = 0.002) -> str:
    """'' when two first observations match; else what differs. `tolerance`: the fraction of pixels that may
    differ (a blinking caret); a different size or instruction always differs."""
    if a["instruction"] != b["instruction"]:
        return f"instruction {a['instruction'][:60]!r} vs {b['instruction'][:60]!r}"
    x, y = a["screenshot"], b["screenshot"]
    if x.shape != y.shape:
        return f"screenshot shape {x.shape} vs {y.shape}"
    differ = float((np.abs(x.astype(np.int16) - y).max(axis=2) > 24).mean())
    return f"{differ:.1%} of the screenshot's pixels differ" if differ > tolerance else ""


def _name(x: Any) -> str:
    return f"pid {x[0]} ({x[2]})" if isinstance(x, tuple) else str(x)
