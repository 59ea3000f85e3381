"""The GUI+SDK hybrid shell action: runs in the episode HOME, without network, hidden from the side channel,
under a time limit, with truncated output as feedback, sharing files with the GUI apps."""

from __future__ import annotations

import time

import pytest

import envs
from envs.desktop import shell
from envs.desktop.procs import group_alive
from envs.desktop.tasks import env_id

isolated = pytest.mark.skipif(shell.isolation() == "none", reason="this machine cannot isolate the shell")


@pytest.fixture(scope="module")
def files():
    env = envs.make(env_id("files-rename"), allow_shell=True, shell_timeout_s=1.0, shell_output_chars=200)
    yield env.unwrapped
    env.close()


def run(env, command: str):
    obs, _, _, _, info = env.step(f"shell(command={command!r})")
    assert not info["action_error"], info["action_error"]
    return obs, info


def test_runs_in_home_and_output_comes_back_as_feedback(files):
    files.reset(seed=0)
    obs, info = run(files, 'pwd; echo "$HOME"; ls')
    home = str(files.sandbox.home)
    assert info["feedback"].splitlines()[:2] == [home, home]
    assert "[output]" in obs["text"] and home in obs["text"]
    _, info = run(files, "echo oops >&2; exit 3")
    assert info["feedback"] == "oops\n[exit code 3]"


def test_shares_the_filesystem_with_the_gui(files):
    files.reset(seed=0)
    _, info = run(files, "mkdir made-by-shell && echo hi > made-by-shell.txt")
    assert {"made-by-shell/", "made-by-shell.txt"} <= set(files.view.state("files")["entries"])
    assert any(e["text"] == "made-by-shell.txt" and e["role"] == "option" for e in info["elements"])
    new_folder = files.view.find(app="files", name="new_folder")
    files.step(f"click(start_box='{new_folder.center}')")
    files.step("type(content='made-by-gui\\n')")
    _, info = run(files, "ls -d made-by-gui")
    assert info["feedback"] == "made-by-gui"


def test_time_limit_kills_the_command_and_what_it_started(files):
    files.reset(seed=0)
    t0 = time.monotonic()
    _, info = run(files, "sleep 30 & echo $! > bg.pid; sleep 30")
    assert "[killed: the command ran longer than 1 s]" in info["feedback"]
    assert time.monotonic() - t0 < 20  # not the 30 s the commands asked for (wide margin: a loaded machine)
    background = int((files.sandbox.home / "bg.pid").read_text())
    assert not group_alive(background)


def test_output_is_truncated(files):
    files.reset(seed=0)
    _, info = run(files, "yes | head -c 5000")
    assert info["feedback"].endswith("[... 4800 more characters cut]")
    assert len(info["feedback"]) < 300


@isolated
def test_no_network_and_no_side_channel(files):
    files.reset(seed=0)
    _, info = run(files, "bash -c 'echo > /dev/tcp/10.0.0.1/80'")
    assert "Network is unreachable" in info["feedback"]
    chan = files.sandbox.chan
    assert any(chan.glob("*.sock"))  # the apps' sockets are there ...
    _, info = run(files, f"ls -A {chan}")
    assert info["feedback"] == "[no output]"  # ... but the shell sees an empty directory


@pytest.mark.parametrize("task", ["files-rename", "files-delete", "files-new-folder", "editor-create-file"])
def test_hybrid_expert_uses_the_shell(task):
    env = envs.make(env_id(task), allow_shell=True).unwrapped
    try:
        for seed in range(3):
            env.reset(seed=seed)
            action = env.expert_action()
            _, r, term, _, info = env.step(action)
            assert "shell(" in action and term and r == 1.0, (action, info)
    finally:
        env.close()
