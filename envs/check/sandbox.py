"""The env's sandbox: a worker process of its own that holds the env, and the calls the checker makes into it.

The worker runs in a new session with a private TMPDIR; every call has a time limit, past which the worker
and everything it started are killed (`EnvHung`, naming the call). What the env raises comes back as
`EnvRaised`, with where it was raised. `Worker.resources()` lists what the worker has started (processes,
listening ports, temp entries) for the leak check.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class CallLimits:
    """Seconds one call into the env may take before the worker is killed."""

    make_s: float = 120.0
    reset_s: float = 60.0
    step_s: float = 60.0
    close_s: float = 30.0
    # Processes the env started get this long to exit after close() before they count as leaked.
    exit_grace_s: float = 3.0


# -- the worker process ------------------------------------------------------------------------------------
def worker_main() -> None:
    """Entry of the worker process: `python -c ... READ_FD WRITE_FD` (see Worker)."""
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
    """The env raised in `call` (make, reset, step, expert or close); the message says what and where."""

    def __init__(self, call: str, message: str, where: str) -> None:
        super().__init__(f"{call} raised {message}" + (f" (at {where})" if where else ""))
        self.call = call


class EnvHung(Exception):
    """`call` did not return in time, or the worker died during it; the worker is dead after either."""

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
            [sys.executable, "-c", "from envs.check.sandbox import worker_main; worker_main()",
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
