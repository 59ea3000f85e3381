"""Faults on a real desktop: the X server failing to start or dying, an app crashing or hanging, the env's
own process killed. The episode ends truncated with the reason, the next reset recovers, and nothing is
left behind (processes or temp dirs)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

import envs
from envs.core.gui_env import EnvFault
from envs.desktop.procs import group_alive
from envs.desktop.sandbox import Sandbox
from envs.desktop.tasks import env_id


def _all_pids(desktop) -> list[int]:
    pids = [h.pid for h in desktop.hosts.values()] + [h.pid for h in desktop.pool.spares]
    return pids + [desktop.xserver.pid]


def _solve(env) -> dict:
    done, info = False, {}
    while not done:
        _, _, term, trunc, info = env.step(env.expert_action())
        done = term or trunc
    return info


@pytest.fixture
def todo():
    env = envs.make(env_id("todo-add-item"), app_timeout_s=1.0).unwrapped
    yield env
    env.close()


def test_xvfb_that_cannot_start_raises_and_leaves_nothing():
    env = envs.make(env_id("todo-add-item"), xvfb="false").unwrapped
    with pytest.raises(EnvFault, match="Xvfb failed to start"):
        env.reset(seed=0)
    assert env.desktop.xserver.pid is None
    env.desktop.xserver.xvfb = "Xvfb"  # the cause goes away: the next reset works
    env.reset(seed=0)
    assert _solve(env)["success"]
    root = env.sandbox.path
    env.close()
    assert not root.exists()
    missing = envs.make(env_id("todo-add-item"), xvfb="/nonexistent/Xvfb").unwrapped
    with pytest.raises(EnvFault, match="not found"):
        missing.reset(seed=0)
    missing.close()


def test_app_crash_truncates_with_reason_and_reset_recovers(todo):
    todo.reset(seed=0)
    app = todo.desktop.hosts["todo"]
    os.kill(app.pid, signal.SIGKILL)
    _, r, term, trunc, info = todo.step("wait()")
    assert trunc and not term and r == 0.0
    assert info["truncation_reason"] == "app 'todo' crashed (killed by signal 9)"
    todo.reset(seed=0)
    assert not group_alive(app.pid)
    assert _solve(todo)["success"]


def test_hung_app_truncates_with_reason_and_reset_recovers(todo):
    todo.reset(seed=1)
    app = todo.desktop.hosts["todo"]
    os.kill(app.pid, signal.SIGSTOP)
    t0 = time.monotonic()
    _, _, term, trunc, info = todo.step("type(content='x')")
    assert trunc and not term and "app 'todo' is not responding" in info["truncation_reason"]
    assert time.monotonic() - t0 < 20  # the app timeout (1 s) ended it: a stopped app never answers
    todo.reset(seed=1)
    assert not group_alive(app.pid)  # the stopped process was killed, not left behind
    assert _solve(todo)["success"]


def test_x_server_death_truncates_and_reset_restarts_it(todo):
    todo.reset(seed=2)
    old = _all_pids(todo.desktop)
    os.kill(todo.desktop.xserver.pid, signal.SIGKILL)
    _, _, _, trunc, info = todo.step("wait()")
    assert trunc and info["truncation_reason"] == "X server died"
    todo.reset(seed=2)
    assert todo.desktop.xserver.pid not in old and not any(group_alive(p) for p in old)
    assert _solve(todo)["success"]


def test_x_server_death_seen_first_as_an_app_crash_is_still_named(todo, monkeypatch):
    # The race CI hit: an app loses its X connection and exits while the killed server is not yet reaped,
    # so the health check sees the server alive and the app dead. Replayed here by reporting the server
    # alive once after it is gone.
    todo.reset(seed=2)
    os.kill(todo.desktop.xserver.pid, signal.SIGKILL)
    hosts = list(todo.desktop.hosts.values())
    deadline = time.monotonic() + 10
    while all(h.alive() for h in hosts) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not all(h.alive() for h in hosts), "no app noticed the X server's death"
    real = type(todo.desktop.xserver).alive
    calls = iter([True])
    monkeypatch.setattr(type(todo.desktop.xserver), "alive", property(lambda x: next(calls, real.fget(x))))
    _, _, _, trunc, info = todo.step("wait()")
    assert trunc and info["truncation_reason"] == "X server died"


def test_close_leaves_no_process_or_temp_dir():
    env = envs.make(env_id("calc-to-todo")).unwrapped
    env.reset(seed=0)
    env.step(env.expert_action())
    pids, root = _all_pids(env.desktop), env.sandbox.path
    assert len(pids) >= 4 and all(group_alive(p) for p in pids) and root.exists()
    env.close()
    assert not any(group_alive(p) for p in pids) and not root.exists()


_KILLED_OWNER = """
import json, os, signal, envs
env = envs.make("agentrl/desktop.files-rename-v0").unwrapped
env.reset(seed=0)
d = env.desktop
pids = [h.pid for h in d.hosts.values()] + [h.pid for h in d.pool.spares] + [d.xserver.pid]
print(json.dumps({"pids": pids, "root": str(env.sandbox.path)}), flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_killed_owner_leaves_no_processes_and_its_dir_is_swept():
    out = subprocess.run([sys.executable, "-c", _KILLED_OWNER], capture_output=True, text=True, timeout=60)
    assert out.returncode == -signal.SIGKILL, out.stderr
    left = json.loads(out.stdout)
    deadline = time.monotonic() + 5
    while any(group_alive(p) for p in left["pids"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(group_alive(p) for p in left["pids"])  # every child had PR_SET_PDEATHSIG
    assert os.path.isdir(left["root"])
    sandbox = Sandbox()
    mine = sandbox.root  # the next env on the machine sweeps directories of dead owners
    assert not os.path.exists(left["root"]) and mine.exists()
    sandbox.cleanup()


def test_processes_outlive_the_thread_that_started_them(todo):
    # PR_SET_PDEATHSIG fires on the forking thread's exit: spawns go through one long-lived thread instead
    worker = threading.Thread(target=todo.reset, kwargs={"seed": 3})
    worker.start()
    worker.join()
    assert all(group_alive(p) for p in _all_pids(todo.desktop))
    assert _solve(todo)["success"]
