"""Faults of the real-app desktop family, on real Xvfb with Debian's apps: an app that does not start,
hangs, crashes or shows a message dialog the task does not expect ends the episode truncated with the
reason named; a start file that cannot be written makes reset refuse with one line naming the path; and
nothing the agent types through the shell action (or into the terminal) reaches outside the episode HOME."""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import subprocess
import uuid
from pathlib import Path

import pytest

import envs
from envs.desktop.procs import group_alive
from envs.desktop.real import apps, confine
from envs.desktop.real.tasks import StartFileError, env_id

pytestmark = pytest.mark.skipif(
    not all(shutil.which(a) for a in ("mousepad", "openbox", "dbus-daemon", "xterm")),
    reason="the real desktop apps are not installed (scripts/setup.sh)",
)


@pytest.fixture(scope="module")
def mousepad():
    env = envs.make(env_id("mousepad.append-line"), call_timeout_s=1.0).unwrapped
    yield env
    env.close()


@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        (("mousepad-not-installed",), "cannot run mousepad-not-installed"),
        (("sh", "-c", "exit 3"), "exited with code 3"),
    ],
)
def test_app_that_does_not_start_truncates_the_first_step_naming_it(monkeypatch, argv, reason):
    monkeypatch.setitem(apps.APPS, "mousepad", dataclasses.replace(apps.APPS["mousepad"], argv=argv))
    env = envs.make(env_id("mousepad.delete-line"), app_timeout_s=3.0).unwrapped
    try:
        obs, _ = env.reset(seed=0)  # the screen still comes (empty): the episode starts, then ends
        assert obs["screenshot"].shape == (600, 800, 3)
        _, reward, term, trunc, info = env.step("click(start_box='(10,10)')")
        assert (reward, term, trunc) == (0.0, False, True)
        assert (
            info["truncation_reason"].startswith("app 'mousepad' did not start")
            and reason in info["truncation_reason"]
        )
    finally:
        env.close()


def test_hung_app_truncates_and_the_next_reset_recovers(mousepad):
    mousepad.reset(seed=0)
    pid = mousepad.desktop.apps["mousepad"].pid
    os.kill(pid, signal.SIGSTOP)
    _, _, _, trunc, info = mousepad.step("type(content='x')")
    assert (
        trunc
        and info["truncation_reason"] == "app 'mousepad' is not responding (no AT-SPI answer within 1 s)"
    )
    mousepad.reset(seed=1)
    assert not group_alive(pid)
    _, _, _, trunc, info = mousepad.step("hotkey(key='ctrl End')")
    assert not trunc


def test_crashed_app_truncates_with_the_signal(mousepad):
    mousepad.reset(seed=2)
    os.kill(mousepad.desktop.apps["mousepad"].pid, signal.SIGKILL)
    _, _, _, trunc, info = mousepad.step("hotkey(key='ctrl End')")
    assert trunc and info["truncation_reason"] == "app 'mousepad' crashed (killed by signal 9)"


def test_unexpected_dialog_truncates_naming_it(mousepad):
    mousepad.reset(seed=3)
    mousepad.step("type(content='unsaved words')")
    _, _, _, trunc, info = mousepad.step("hotkey(key='ctrl w')")  # closing a modified document asks
    assert trunc and info["truncation_reason"].startswith("unexpected dialog from Mousepad: '")
    assert "save" in info["truncation_reason"].lower()


def test_start_file_that_cannot_be_written_refuses_reset_in_one_line(mousepad):
    mousepad.reset(seed=4)
    home = mousepad.sandbox.home
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "ro,size=1k", "agentrl-test", str(home)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a read-only HOME here: {mounted.stderr.decode().strip()}")
    try:
        with pytest.raises(StartFileError) as e:
            mousepad.reset(seed=5)
        message = str(e.value)
        assert "\n" not in message and message.startswith(f"reset: cannot write start file {home}/")
        assert "Read-only file system" in message
    finally:
        subprocess.run(["umount", str(home)], check=True)
    mousepad.reset(seed=5)  # writable again: resets as usual


@pytest.mark.skipif(not confine.available(), reason="needs root with mount and pid namespaces")
def test_nothing_typed_reaches_outside_home():
    env = envs.make(env_id("xterm.count-lines"), allow_shell=True).unwrapped
    marker = f"agentrl-escape-{uuid.uuid4().hex[:8]}"
    try:
        env.reset(seed=0)
        home, root, chan = env.sandbox.home, env.sandbox.root, env.sandbox.chan
        outside = [Path("/tmp") / marker, root / marker, chan / marker, Path.cwd() / marker]
        attempts = "; ".join(f"echo x > {p}" for p in outside)
        _, _, _, _, info = env.step(f"shell(command='{attempts}; (cd .. && echo x > {marker}); echo in > inside.txt; "
                                    f"ls /work {root}; kill -9 {os.getpid()}; ps -e | wc -l; id -u')")  # fmt: skip
        feedback = info["feedback"]
        assert (home / "inside.txt").read_text() == "in\n"  # HOME is writable ...
        assert not any(p.exists() for p in outside)  # ... nothing else is
        assert "No such file or directory" in feedback  # /work and the sandbox root are not there at all
        assert int(feedback.splitlines()[-2]) <= 5  # its own processes only (ps, wc, sh)
        # the same through the terminal's keyboard: xterm's shell is confined the same way
        env.step(f"type(content='{attempts}; echo typed > typed.txt\\n')")
        env.step("wait()")
        assert (home / "typed.txt").exists() and not any(p.exists() for p in outside)
    finally:
        env.close()
        for p in (Path("/tmp") / marker, Path.cwd() / marker):
            p.unlink(missing_ok=True)
