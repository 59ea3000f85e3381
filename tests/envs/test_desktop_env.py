"""The desktop env contract on a real Xvfb display with the bundled Tk apps: gymnasium's checker,
observations and elements, seeding, registration, bad actions, input through XTEST."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import envs
from envs.desktop.tasks import TASKS, env_id


@pytest.fixture(scope="module")
def editor():
    env = envs.make(env_id("editor-create-file"))
    yield env.unwrapped
    env.close()


def test_every_task_is_registered_cheaply():
    specs = {s.id: s for s in envs.list_envs(kind="desktop")}
    assert len(TASKS) >= 10 and set(specs) == {env_id(t) for t in TASKS}
    assert all(s.has_expert and isinstance(s.entry_point, str) for s in specs.values())
    env = envs.make(env_id("todo-add-item"))  # no X server, no temp dir until the first reset
    assert env.unwrapped.desktop.xserver.pid is None and env.unwrapped.sandbox.path is None
    env.close()


def test_gymnasium_checker_passes():
    env = envs.make(env_id("todo-mark-done"))
    try:
        check_env(env.unwrapped)
    finally:
        env.close()


def test_observation_has_screen_pixels_and_reported_elements(editor):
    obs, info = editor.reset(seed=0)
    shot = obs["screenshot"]
    assert shot.shape == (240, 320, 3) and shot.dtype == np.uint8
    assert len(np.unique(shot.reshape(-1, 3), axis=0)) > 10  # a drawn desktop, not a blank frame
    assert "create a file named" in obs["instruction"]
    lines = obs["text"].splitlines()
    assert any('menu "File"' in line for line in lines) and any(
        'textbox "Document"' in line for line in lines
    )
    assert any('button "Editor"' in line for line in lines)  # the task bar
    assert [e["index"] for e in info["elements"]] == list(range(len(info["elements"])))
    # the element centres land on the widgets they name: the File menu's centre is in the top bar
    file_menu = next(e for e in info["elements"] if e["text"] == "File")
    assert file_menu["y"] < 20 and file_menu["x"] < 40


def test_same_seed_same_episode_other_seed_differs(editor):
    a, _ = editor.reset(seed=5)
    b, _ = editor.reset(seed=5)
    c, _ = editor.reset(seed=6)
    assert a["instruction"] == b["instruction"] and np.array_equal(a["screenshot"], b["screenshot"])
    assert a["instruction"] != c["instruction"]


def test_fresh_home_per_episode(editor):
    editor.reset(seed=1)
    (editor.sandbox.home / "junk.txt").write_text("left over")
    editor.reset(seed=1)
    assert not (editor.sandbox.home / "junk.txt").exists()


def test_covered_elements_are_not_listed(editor):
    editor.reset(seed=2)
    _, _, _, _, info = editor.step("hotkey(key='ctrl s')")  # the Save As dialog covers the document
    texts = [e["text"] for e in info["elements"]]
    assert "Save As" in texts and "File name" in texts and "Document" not in texts


def test_typing_hotkeys_and_unicode_reach_the_app(editor):
    editor.reset(seed=3)
    text = next(e for e in editor.view.elements if e.name == "text")
    editor.step(f"click(start_box='({text.center[0]},{text.center[1]})')")
    editor.step("type(content='héllo wörld € 1+1=2\\nsecond line')")
    assert editor.view.state("editor")["text"] == "héllo wörld € 1+1=2\nsecond line"
    editor.step("hotkey(key='ctrl a')")
    assert editor.view.state("editor")["selection"] == "héllo wörld € 1+1=2\nsecond line"
    _, _, _, _, info = editor.step("hotkey(key='ctrl nosuchkey')")
    assert "unknown key 'nosuchkey'" in info["action_error"]


def test_typing_more_unmapped_characters_than_spare_keycodes(editor):
    """Characters the keyboard map lacks are bound to spare keycodes before typing; a text needing more
    than the server has is typed in chunks, and no character is dropped or typed as another."""
    editor.reset(seed=5)
    text = next(e for e in editor.view.elements if e.name == "text")
    spare = len(editor.desktop.input._spare)
    content = "".join(chr(0x410 + i) for i in range(spare + 5)) + " αβγ ä€"
    editor.step(f"click(start_box='({text.center[0]},{text.center[1]})')")
    editor.step(f"type(content='{content}')")
    assert editor.view.state("editor")["text"] == content


def test_drag_selects_and_scroll_moves_the_view(editor):
    editor.reset(seed=4)
    text = next(e for e in editor.view.elements if e.name == "text")
    editor.step(f"click(start_box='({text.center[0]},{text.center[1]})')")
    editor.step("type(content='" + "\\n".join(f"line {i}" for i in range(60)) + "')")
    editor.step("hotkey(key='ctrl home')")
    assert editor.view.state("editor")["top_line"] == 1
    editor.step(f"scroll(start_box='({text.center[0]},{text.center[1]})', direction='down')")
    assert editor.view.state("editor")["top_line"] > 1
    y = text.y + 8
    editor.step(f"drag(start_box='({text.x + 2},{y})', end_box='({text.x + 60},{y})')")
    assert editor.view.state("editor")["selection"].startswith("line")


def test_bad_actions_are_reported_not_raised(editor):
    editor.reset(seed=0)
    _, r, term, trunc, info = editor.step("Action: fly(to='moon')")
    assert r == 0 and not term and not trunc and "unknown action 'fly'" in info["action_error"]
    _, _, _, _, info = editor.step("click(start_box='(900,10)')")
    assert "outside the 320x240 screen" in info["action_error"]
    _, _, _, _, info = editor.step("shell(command='ls')")
    assert "shell actions are disabled" in info["action_error"]


def test_axtree_mode_groups_elements_by_window():
    env = envs.make(env_id("calc-to-todo"), text_mode="axtree")
    try:
        obs, info = env.reset(seed=0)
        lines = obs["text"].splitlines()
        assert lines[0] == 'window "Calculator" (focused)' and 'window "Task bar"' in lines
        assert sum(line.startswith("  [") for line in lines) == len(info["elements"])
    finally:
        env.close()


def test_screen_size_is_configurable():
    env = envs.make(env_id("calc-compute"), width=480, height=360)
    try:
        obs, info = env.reset(seed=0)
        assert obs["screenshot"].shape == (360, 480, 3)
        assert max(e["x"] + e["w"] for e in info["elements"]) > 400  # the apps lay out to the screen
    finally:
        env.close()


def test_expert_thoughts_parse_and_finished_is_judged_by_the_checker(editor):
    editor.reset(seed=0)
    action = editor.expert_action()
    assert action.startswith("Thought: ") and "\nAction: " in action
    _, r, term, _, info = editor.step("finished(content='done')")
    assert term and r == 0.0 and not info["success"]  # nothing was saved
