"""The contract checker for GUI envs: is this env fit for training? (`agentrl envs check ID`)

gymnasium's `check_env` asks whether an env speaks the API; this asks whether an RL run can rely on it:

    contract       what must hold
    make           the registered entry point constructs the env
    observation    reset and step return {"screenshot": (H, W, 3) uint8, "instruction": non-empty str,
                   optional "text": str}, inside `observation_space`
    actions        junk action text gives reward 0, a non-empty info["action_error"], and the episode goes on
    termination    every episode ends (terminated or truncated) within the step cap
    expert         where a scripted expert exists (`expert_action`), it succeeds (its rate is reported)
    determinism    the same seed gives the same first screenshot and instruction, in a fresh instance
    isolation      nothing from one episode is visible in the next (same seed -> same first observation)
    clean close    close() releases what the env acquired: no stray processes, temp files or listening ports
    latency        reset and step latency percentiles (reported; never fails)

The env runs in a worker process (a new session, with its own TMPDIR) and every call has a time limit: an env that
hangs is killed with its whole process tree, and the call that hung is named. A contract that fails says
how to fix it. Leaks are found by growth: the env is made, played and closed twice, and whatever the
second round leaves behind that the first did not is a leak (a browser or X server shared by every env in a
process is started once and is not one).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np

JUNK_ACTIONS = ("", "Action: fly(to='the moon')", "click(start_box='(99999,99999)')", "Thought: hmm\nAction:")
PASS, WARN, FAIL, SKIP = "pass", "warn", "fail", "skip"


@dataclass(frozen=True)
class CallLimits:
    """Seconds one call into the env may take before the worker is killed."""

    make_s: float = 120.0
    reset_s: float = 60.0
    step_s: float = 60.0
    close_s: float = 30.0
    # Processes the env started get this long to exit after close() before they count as leaked.
    exit_grace_s: float = 3.0


@dataclass(frozen=True)
class Contract:
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


# -- the worker process ------------------------------------------------------------------------------------
def _worker_main() -> None:
    """Entry of the worker process: `python -c ... READ_FD WRITE_FD` (see Worker)."""
    import sys
    from multiprocessing.connection import Connection

    tempfile.tempdir = None  # TMPDIR is the checker's private dir
    inbox, outbox = Connection(int(sys.argv[1]), writable=False), Connection(int(sys.argv[2]), readable=False)
    made: dict[int, Any] = {}
    while True:
        cmd, args = inbox.recv()
        if cmd == "exit":
            return
        t0 = time.perf_counter()
        try:
            value = _COMMANDS[cmd](made, *args)
            reply: tuple = ("ok", value, time.perf_counter() - t0)
        except Exception as e:  # noqa: BLE001 - the checker reports what the env raised
            reply = ("raised", f"{type(e).__name__}: {e}", _where(e))
        try:
            outbox.send(reply)
        except Exception as e:  # noqa: BLE001 - an unpicklable observation
            outbox.send(
                ("raised", f"the reply could not be sent to the checker: {type(e).__name__}: {e}", "")
            )


def _where(e: BaseException) -> str:
    frames = traceback.extract_tb(e.__traceback__)
    return f"{frames[-1].filename}:{frames[-1].lineno} in {frames[-1].name}" if frames else ""


def _cmd_make(made: dict[int, Any], env_id: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    import envs

    env = envs.make(env_id, **kwargs)
    made[len(made)] = env
    inner = env.unwrapped
    has_expert = envs.spec(env_id).has_expert  # the registry knows per task (one class may serve many)
    return {"handle": len(made) - 1, "type": type(inner).__name__, "has_expert": has_expert,
            "max_steps": getattr(inner, "max_steps", None)}  # fmt: skip


def _cmd_reset(made: dict[int, Any], h: int, seed: int) -> tuple:
    obs, info = made[h].reset(seed=seed)
    return _safe(obs), _safe(info), made[h].observation_space.contains(obs)


def _cmd_step(made: dict[int, Any], h: int, action: str) -> tuple:
    obs, reward, terminated, truncated, info = made[h].step(action)
    return _safe(obs), reward, terminated, truncated, _safe(info), made[h].observation_space.contains(obs)


def _cmd_expert(made: dict[int, Any], h: int) -> str:
    return made[h].unwrapped.expert_action()


def _cmd_close(made: dict[int, Any], h: int) -> None:
    made.pop(h).close()


def _safe(d: Any) -> Any:
    """`d` with the values that cannot cross processes replaced by their repr."""
    if not isinstance(d, dict):
        return d
    out = {}
    for k, v in d.items():
        try:
            pickle.dumps(v)
            out[k] = v
        except Exception:  # noqa: BLE001
            out[k] = repr(v)
    return out


_COMMANDS = {
    "make": _cmd_make,
    "reset": _cmd_reset,
    "step": _cmd_step,
    "expert": _cmd_expert,
    "close": _cmd_close,
}


# -- the checker's side -------------------------------------------------------------------------------------
class EnvRaised(Exception):
    def __init__(self, call: str, message: str, where: str) -> None:
        super().__init__(f"{call} raised {message}" + (f" (at {where})" if where else ""))
        self.call = call


class EnvHung(Exception):
    def __init__(self, call: str, message: str) -> None:
        super().__init__(message)
        self.call = call


class Worker:
    """A process of its own (new session, private TMPDIR) that holds the env; every call has a time limit,
    past which the process and everything it started are killed. Its output goes to a log whose tail is
    shown when it dies."""

    def __init__(self, tmpdir: str) -> None:
        import psutil

        to_child, from_child = os.pipe(), os.pipe()
        self.log = tempfile.NamedTemporaryFile(prefix="agentrl-envs-check-", suffix=".log", delete=False)  # noqa: SIM115 - open for the life of the worker
        env = dict(os.environ, TMPDIR=tmpdir, PYTHONPATH=os.pathsep.join(p or os.getcwd() for p in sys.path))
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from envs.check import _worker_main; _worker_main()",
             str(to_child[0]), str(from_child[1])],
            pass_fds=(to_child[0], from_child[1]), stdin=subprocess.DEVNULL, stdout=self.log,
            stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )  # fmt: skip
        os.close(to_child[0])
        os.close(from_child[1])
        self._out = Connection(to_child[1], readable=False)
        self._in = Connection(from_child[0], writable=False)
        self.tmpdir = tmpdir
        self.ps = psutil.Process(self.proc.pid)
        self.dead = ""  # why the worker was killed

    def call(self, cmd: str, *args: Any, timeout_s: float) -> tuple[Any, float]:
        if self.dead:
            raise EnvHung(cmd, self.dead)
        self._out.send((cmd, args))
        if not self._in.poll(timeout_s):
            self.kill()
            self.dead = f"{cmd} did not return within {timeout_s:g} s (the env's process was killed)"
            raise EnvHung(cmd, self.dead)
        try:
            status, value, extra = self._in.recv()
        except EOFError:
            self.kill()
            self.dead = (
                f"the env's process died during {cmd} (exit code {self.proc.returncode}): {self.log_tail()}"
            )
            raise EnvHung(cmd, self.dead) from None
        if status == "raised":
            raise EnvRaised(cmd, value, extra)
        return value, extra

    def resources(self) -> dict[str, set]:
        """What the env's process has started: live descendant processes, listening ports, temp entries."""
        import psutil

        procs, ports = set(), set()
        try:
            tree = [self.ps, *self.ps.children(recursive=True)]
        except psutil.Error:
            tree = []
        for p in tree:
            with contextlib.suppress(psutil.Error):
                if p is not self.ps and p.status() != psutil.STATUS_ZOMBIE:
                    procs.add((p.pid, p.create_time(), " ".join(p.cmdline()[:2])[:80] or p.name()))
                for c in p.net_connections(kind="inet"):
                    if c.status == psutil.CONN_LISTEN:
                        ports.add(f"{c.laddr.ip}:{c.laddr.port}")
        tmp = set(os.listdir(self.tmpdir)) if os.path.isdir(self.tmpdir) else set()
        return {"processes": procs, "ports": ports, "temp files": tmp}

    def log_tail(self, lines: int = 3) -> str:
        text = Path(self.log.name).read_text(errors="replace").strip().splitlines()
        return " | ".join(text[-lines:]) or "no output"

    def kill(self) -> None:
        """Kill the worker and everything it started (children first, so none is orphaned)."""
        import psutil

        with contextlib.suppress(psutil.Error):
            tree = self.ps.children(recursive=True)
            for p in [*tree, self.ps]:
                with contextlib.suppress(psutil.Error):
                    p.kill()
            psutil.wait_procs([*tree, self.ps], timeout=5)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # anything left in its session (double-forked daemons)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)

    def shutdown(self) -> None:
        if not self.dead and self.proc.poll() is None:
            with contextlib.suppress(Exception):
                tree = self.ps.children(recursive=True)
                self._out.send(("exit", ()))
                self.proc.wait(timeout=5)
                for p in tree:
                    with contextlib.suppress(Exception):
                        p.kill()
        self.kill()
        self._out.close()
        self._in.close()
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)


@dataclass
class _Run:
    """State of one check: the report being filled and the worker it talks to."""

    env_id: str
    worker: Worker
    limits: CallLimits
    report: CheckReport
    step_cap: int
    env_kwargs: dict[str, Any]
    info: dict[str, Any] = field(default_factory=dict)
    phase: str = "make"  # the contract a failing call is reported under

    def add(self, name: str, status: str, detail: str = "", fix: str = "") -> None:
        self.report.contracts.append(Contract(name, status, detail, fix))

    def timed(self, kind: str, cmd: str, *args: Any, limit_s: float) -> Any:
        value, seconds = self.worker.call(cmd, *args, timeout_s=limit_s)
        self.report.latency_s.setdefault(kind, []).append(seconds)
        return value


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
    run = _Run(
        env_id, Worker(tmpdir), limits or CallLimits(), CheckReport(env_id), step_cap, env_kwargs or {}
    )
    try:
        _check_all(run, episodes, seed)
    finally:
        run.worker.shutdown()
        shutil.rmtree(tmpdir, ignore_errors=True)
    return run.report


CONTRACTS = ("make", "observation", "actions", "termination", "expert", "isolation", "determinism",
             "clean close", "latency")  # fmt: skip


def _check_all(run: _Run, episodes: int, seed: int) -> None:
    before = run.worker.resources()
    try:
        h = _make(run)
        run.phase = "observation"
        first = _reset(run, h, seed)
        run.phase = "actions"
        _check_actions(run, h)
        run.phase = "termination"
        played = [_play(run, h, seed + i) for i in range(episodes)]
        _check_episodes(run, played)
        run.phase = "isolation"
        _check_isolation(run, h, seed, first, played)
        run.phase = "clean close"
        after_one = _close(run, h, before)
        run.phase = "determinism"
        h2 = _make(run, again=True)
        again = _reset(run, h2, seed, record=False)
        _check_determinism(run, seed, first, again)
        run.phase = "clean close"
        _play(run, h2, seed + episodes)
        _close(run, h2, after_one, final=True)
    except (EnvRaised, EnvHung) as e:
        _fail_current(run, e)
    done = {c.name for c in run.report.contracts}
    reason = f"not run: {run.worker.dead or 'an earlier contract failed'}"
    for name in CONTRACTS:
        if name not in done:
            run.add(name, SKIP, reason)
    _add_latency(run)
    run.report.contracts.sort(key=lambda c: CONTRACTS.index(c.name.split(" (")[0]))


# Which contract a failing call belongs to, and how to fix it.
FIXES = {
    "make": "the registered entry point ('module:Class') and kwargs must construct the env without raising",
    "reset": "reset(seed=...) must not raise for any non-negative seed; a fault in the env's own machinery "
    "(a page that never loads, an app that crashed) belongs in EnvFault, which GUIEnv turns into truncation",
    "step": "step() must not raise for any action text: parse errors go to info['action_error'] and env "
    "faults end the episode truncated (GUIEnv does both; raise ActionError or EnvFault from _execute)",
    "expert": "expert_action() must return the next action text for the current state",
    "close": "close() must not raise or block: stop what the env started (processes, contexts, servers)",
}


def _fail_current(run: _Run, e: EnvRaised | EnvHung) -> None:
    if isinstance(e, _Stop):  # the contract that stopped the check has been reported
        return
    call = e.call
    name = "expert" if call == "expert" else run.phase
    if isinstance(e, EnvHung):
        fix = (
            f"every {call} must return in bounded time: put a timeout on every wait "
            "(page loads, app start, subprocesses) and turn an expired one into EnvFault"
        )
    else:
        fix = FIXES.get(call, "")
    if name in {c.name for c in run.report.contracts}:
        name = f"{name} ({call})"
    run.add(name, FAIL, str(e), fix)


def _make(run: _Run, again: bool = False) -> int:
    run.info = run.timed("make", "make", run.env_id, run.env_kwargs, limit_s=run.limits.make_s)
    if not again:
        run.add(
            "make",
            PASS,
            f"{run.info['type']}" + (" with a scripted expert" if run.info["has_expert"] else ""),
        )
    return run.info["handle"]


def _reset(run: _Run, h: int, seed: int, record: bool = True) -> dict[str, Any]:
    obs, info, contained = run.timed("reset", "reset", h, seed, limit_s=run.limits.reset_s)
    problem = _obs_problem(obs, contained) or (
        "" if isinstance(info, dict) else f"info is {type(info).__name__}"
    )
    if problem:
        run.add("observation", FAIL, f"reset(seed={seed}): {problem}", OBS_FIX)
        raise _Stop
    if record:
        run.add("observation", PASS, f"screenshot {obs['screenshot'].shape[1]}x{obs['screenshot'].shape[0]}, "
                f"instruction {obs['instruction'][:50]!r}" + (", text" if "text" in obs else ""))  # fmt: skip
    return obs


class _Stop(EnvRaised):
    """A contract failed in a way that leaves nothing sensible to check after it."""

    def __init__(self) -> None:
        super().__init__("", "", "")


OBS_FIX = (
    "return obs = {'screenshot': np.ndarray (H, W, 3) uint8, 'instruction': str, optional 'text': str} that "
    "lies in observation_space (GUIEnv builds it from _screenshot() and _reset_task()'s instruction)"
)


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


def _check_actions(run: _Run, h: int) -> None:
    for junk in JUNK_ACTIONS:
        obs, reward, terminated, truncated, info, contained = run.timed(
            "step", "step", h, junk, limit_s=run.limits.step_s
        )
        error = info.get("action_error") if isinstance(info, dict) else None
        problem = _obs_problem(obs, contained)
        if problem:
            run.add("observation", FAIL, f"step({junk!r}): {problem}", OBS_FIX)
            raise _Stop
        if not (isinstance(error, str) and error) or reward != 0 or terminated:
            run.add(
                "actions", FAIL,
                f"step({junk!r}) gave reward {reward}, terminated={terminated}, action_error={error!r}",
                "a malformed action must give reward 0, a non-empty info['action_error'] and let the episode go "
                "on (GUIEnv does this when _execute raises ActionError for actions it cannot perform)",
            )  # fmt: skip
            return
        if truncated:
            break
    run.add("actions", PASS, f"{len(JUNK_ACTIONS)} malformed actions answered with action_error")


@dataclass
class _Played:
    seed: int
    steps: int
    ended: bool
    success: bool
    policy: str
    bad: str = ""  # a wrong type returned by step


def _play(run: _Run, h: int, seed: int) -> _Played:
    obs = _reset(run, h, seed, record=False)
    height, width = obs["screenshot"].shape[:2]
    rng = random.Random(seed)
    expert = run.info["has_expert"]
    for steps in range(1, run.step_cap + 1):
        if expert:
            action = run.timed("expert", "expert", h, limit_s=run.limits.step_s)
        else:
            action = f"Action: click(start_box='({rng.randrange(width)},{rng.randrange(height)})')"
        obs, reward, terminated, truncated, info, contained = run.timed(
            "step", "step", h, action, limit_s=run.limits.step_s
        )
        bad = _obs_problem(obs, contained) or _types_problem(reward, terminated, truncated, info)
        if bad or terminated or truncated:
            success = (
                bool(info.get("success", terminated and reward > 0)) if isinstance(info, dict) else False
            )
            return _Played(seed, steps, True, success, "expert" if expert else "random", bad)
    return _Played(seed, run.step_cap, False, False, "expert" if expert else "random")


def _types_problem(reward: Any, terminated: Any, truncated: Any, info: Any) -> str:
    if not isinstance(reward, (int, float, np.floating, np.integer)) or isinstance(reward, bool):
        return f"reward is {type(reward).__name__}, not a float"
    if not isinstance(terminated, (bool, np.bool_)) or not isinstance(truncated, (bool, np.bool_)):
        return f"terminated/truncated are {type(terminated).__name__}/{type(truncated).__name__}, not bool"
    if not isinstance(info, dict):
        return f"info is {type(info).__name__}, not a dict"
    return ""


def _check_episodes(run: _Run, played: list[_Played]) -> None:
    bad = next((p for p in played if p.bad), None)
    if bad:
        run.add("observation", FAIL, f"step on seed {bad.seed}: {bad.bad}", OBS_FIX)
        raise _Stop
    endless = [p for p in played if not p.ended]
    if endless:
        run.add(
            "termination", FAIL,
            f"seed {endless[0].seed}: no terminated or truncated after {run.step_cap} steps ({endless[0].policy} policy)",
            "give the env a step budget (GUIEnv's max_steps) and return truncated=True when it runs out; "
            "end the episode (terminated=True) when the task is done or failed",
        )  # fmt: skip
        raise _Stop
    steps = [p.steps for p in played]
    run.add("termination", PASS, f"{len(played)} episodes ended after {min(steps)}-{max(steps)} steps")
    if not run.info["has_expert"]:
        run.add("expert", SKIP, "no scripted expert (define expert_action() to get one checked)")
        return
    wins = sum(p.success for p in played)
    run.report.expert_success_rate = wins / len(played)
    detail = f"{wins}/{len(played)} episodes solved by the scripted expert"
    if wins == 0:
        fix = "the expert never succeeds: either expert_action() or the task's checker (_evaluate) is wrong"
        run.add("expert", FAIL, detail, fix)
    else:
        run.add("expert", PASS if wins == len(played) else WARN, detail)


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


def _check_isolation(run: _Run, h: int, seed: int, first: dict[str, Any], played: list[_Played]) -> None:
    again = _reset(run, h, seed, record=False)
    diff = _same(first, again)
    if diff:
        run.add(
            "isolation", FAIL,
            f"reset(seed={seed}) after {len(played)} played episodes differs from the first reset(seed={seed}): {diff}",
            "reset() must restore all task state (page, app, files, scroll, focus): start each episode from a "
            "fresh browser context or app state, and draw everything random from the seed",
        )  # fmt: skip
    else:
        run.add("isolation", PASS, f"reset(seed={seed}) after {len(played)} episodes matches the first")


def _check_determinism(run: _Run, seed: int, first: dict[str, Any], again: dict[str, Any]) -> None:
    diff = _same(first, again)
    if diff:
        run.add(
            "determinism", FAIL, f"reset(seed={seed}) in a fresh instance differs: {diff}",
            "draw every random choice of the task from the reset seed (random.Random(seed), Math.seedrandom), "
            "not from time, global state or an unseeded generator",
        )  # fmt: skip
    else:
        run.add("determinism", PASS, f"reset(seed={seed}) in a fresh instance gives the same observation")


def _close(run: _Run, h: int, baseline: dict[str, set], final: bool = False) -> dict[str, set]:
    run.timed("close", "close", h, limit_s=run.limits.close_s)
    deadline = time.monotonic() + (run.limits.exit_grace_s if final else 0.0)
    while True:
        now = run.worker.resources()
        leaked = {k: now[k] - baseline[k] for k in now}
        if not any(leaked.values()) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    if not final:
        return now
    if any(leaked.values()):
        what = "; ".join(f"{k}: {', '.join(sorted(_name(x) for x in v))}" for k, v in leaked.items() if v)
        run.add(
            "clean close", FAIL, f"after a second make/play/close, still there: {what}",
            "close() must stop every process the env started (terminate, then kill after a timeout), remove its "
            "temp dirs and close its servers; a resource shared by all envs in a process must be started once",
        )  # fmt: skip
    else:
        run.add("clean close", PASS, "make/play/close twice leaves nothing new behind")
    return now


def _name(x: Any) -> str:
    return f"pid {x[0]} ({x[2]})" if isinstance(x, tuple) else str(x)


def _add_latency(run: _Run) -> None:
    parts = []
    for kind in ("reset", "step"):
        xs = run.report.latency_s.get(kind)
        if xs:
            p50, p95 = np.percentile(xs, [50, 95]) * 1000
            parts.append(f"{kind} p50 {p50:.0f} ms, p95 {p95:.0f} ms (n={len(xs)})")
    run.report.contracts = [c for c in run.report.contracts if c.name != "latency"]
    run.add("latency", PASS if parts else SKIP, "; ".join(parts) or "no call completed")
