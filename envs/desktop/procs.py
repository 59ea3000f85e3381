"""Child processes that cannot outlive the env: own process group, killed with the parent, reaped on close.

Every process the desktop env starts (Xvfb, the bundled apps, xterm, shell commands) goes through `spawn`:
it runs in a new session (so `kill_group` reaches everything it forked), and the kernel sends it a signal
when its parent dies (`PR_SET_PDEATHSIG`), so a crashed or SIGKILLed trainer leaves no X server or app
behind. Finalizers cover the ordinary exit path (see `xserver.py` and `sandbox.py`).

PDEATHSIG fires when the *thread* that forked the child exits, not only the process. So every spawn is
made from one spawner thread that lives as long as the process: an env used from a short-lived worker
thread does not lose its X server when that thread ends.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)
_spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="agentrl-spawner")


def _die_with_parent(sig: int) -> None:
    _libc.prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)


def spawn(
    argv: Sequence[str],
    env: dict[str, str],
    cwd: str | None = None,
    death_signal: int = signal.SIGKILL,
    pass_fds: Sequence[int] = (),
    stdout: int | None = subprocess.DEVNULL,
    stderr: int | None = subprocess.DEVNULL,
    stdin: int | None = subprocess.DEVNULL,
) -> subprocess.Popen[bytes]:
    """Start `argv` in its own session; it gets `death_signal` when this process dies."""
    return _spawner.submit(
        subprocess.Popen,
        list(argv),
        env=env,
        cwd=cwd,
        start_new_session=True,
        preexec_fn=lambda: _die_with_parent(death_signal),
        pass_fds=tuple(pass_fds),
        stdin=stdin,
        stdout=stdout,
        stderr=stderr,
        close_fds=True,
    ).result()


def kill_group(proc: subprocess.Popen[bytes], term_timeout_s: float = 1.0) -> None:
    """SIGTERM the process group, SIGKILL what is left after `term_timeout_s`, and reap the leader."""
    if proc.poll() is None:
        _signal_group(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=term_timeout_s)
    # the leader may be gone while children it forked (same group) linger: kill the group regardless
    _signal_group(proc.pid, signal.SIGKILL)
    if proc.poll() is None:
        proc.wait(timeout=5)


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def group_alive(pgid: int) -> bool:
    """Whether any process of group `pgid` is still alive (zombies of our own children count as gone)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    # killpg(0) succeeds for zombies too: look for a live member in /proc
    return any(e.isdigit() and _pgid_state(int(e)) == (pgid, True) for e in os.listdir("/proc"))


def _pgid_state(pid: int) -> tuple[int, bool] | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat[stat.rindex(b")") + 2 :].split()
    return int(fields[2]), fields[0] != b"Z"


def wait_until(predicate, timeout_s: float, interval_s: float = 0.005) -> bool:
    """Poll `predicate()` until it is true or `timeout_s` passes; returns its last value."""
    deadline = time.monotonic() + timeout_s
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval_s)
