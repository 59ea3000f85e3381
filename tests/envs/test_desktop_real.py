"""The real-app desktop family on a real Xvfb with Debian's apps: registration, the element list and the
`axtree` text read through AT-SPI, a D-Bus session per episode, input reaching the apps."""

from __future__ import annotations

import re
import shutil
import time

import pytest

import envs
from envs.desktop.procs import group_alive
from envs.desktop.real.tasks import TASKS, env_id

pytestmark = pytest.mark.skipif(
    not all(
        shutil.which(a) for a in ("mousepad", "gnumeric", "galculator", "pcmanfm", "openbox", "dbus-daemon")
    ),
    reason="the real desktop apps are not installed (scripts/setup.sh)",
)


@pytest.fixture(scope="module")
def mousepad():
    env = envs.make(env_id("mousepad.append-line"), text_mode="elements")
    yield env.unwrapped
    env.close()


def test_at_least_20_tasks_over_4_apps_registered_cheaply():
    specs = {s.id: s for s in envs.list_envs(kind="desktop-real")}
    assert len(specs) >= 20 and set(specs) == {env_id(t) for t in TASKS}
    assert len({t.split(".")[0] for t in TASKS}) >= 4
    assert all(s.has_expert and s.id.startswith("agentrl/desktop-real.") for s in specs.values())
    env = envs.make(env_id("gnumeric.sum-column"))  # no X server, no temp dir until the first reset
    assert env.unwrapped.desktop.xserver.pid is None and env.unwrapped.sandbox.path is None
    env.close()


def test_element_list_comes_from_the_accessibility_tree(mousepad):
    obs, info = mousepad.reset(seed=3)
    lines = obs["text"].splitlines()
    assert lines[0].startswith('[0] menu "File" (') and any(
        line.startswith("[") and "textbox" in line for line in lines
    )
    doc = next(e for e in info["elements"] if e["role"] == "textbox")
    filename = mousepad.episode.goal["filename"]
    assert doc["value"].split() == (mousepad.sandbox.home / filename).read_text().split()
    h, w = obs["screenshot"].shape[:2]
    assert all(0 <= e["x"] + e["w"] // 2 < w and 0 <= e["y"] + e["h"] // 2 < h for e in info["elements"])
    # a click on the File menu's centre opens it: its items join the list, in the menu's popup
    file_menu = info["elements"][0]
    obs, _, _, _, info = mousepad.step(f"click(start_box='({file_menu['x'] + 5},{file_menu['y'] + 5})')")
    items = {e["text"] for e in info["elements"] if e["role"] == "menuitem"}
    assert {"Save", "Save As...", "Quit"} <= items
    obs, *_ = mousepad.step("hotkey(key='Escape')")
    assert not any(e.role == "menuitem" for e in mousepad._last_elements)


def test_typing_reaches_the_app_and_its_tree(mousepad):
    mousepad.reset(seed=4)
    mousepad.step("hotkey(key='ctrl End')")
    _, _, _, _, info = mousepad.step("type(content='zebra crossing ü')")
    doc = next(e for e in info["elements"] if e["role"] == "textbox")
    assert doc["value"].endswith("zebra crossing ü")


def test_axtree_mode_gives_the_whole_tree():
    env = envs.make(env_id("gnumeric.fix-value"), text_mode="axtree").unwrapped
    try:
        obs, _ = env.reset(seed=0)
        text = obs["text"]
        assert text.startswith('application "gnumeric"') and '\n  frame "' in text
        assert 'push button "Save"' in text and 'text="' in text  # roles as AT-SPI names them, with text
        assert len(text.splitlines()) > 2 * len(env._elements())  # more than the element list
    finally:
        env.close()


def test_each_episode_gets_its_own_bus_and_apps(mousepad):
    mousepad.reset(seed=0)
    d = mousepad.desktop
    bus, pid, app_pid = d.bus_address, d.bus.pid, d.apps["mousepad"].pid
    mousepad.reset(seed=1)
    assert d.bus_address != bus and d.apps["mousepad"].pid != app_pid
    for gone in (pid, app_pid):
        assert not group_alive(gone)


def test_file_manager_shows_every_start_file_at_one_fixed_time():
    """The list view's Modified column: start files written at reset showed the clock's minute, so a seed's
    first screen changed from one minute to the next (seen as a determinism failure under load)."""
    env = envs.make(env_id("pcmanfm.copy"), text_mode="elements")
    _, info = env.reset(seed=0)
    env.close()
    texts = [e.get("text") or e.get("name") or "" for e in info["elements"]]
    stamps = [t for t in texts if re.fullmatch(r"\d\d/\d\d/\d\d \d\d:\d\d", t)]
    assert len(stamps) >= 3 and len(set(stamps)) == 1, texts
    assert not stamps[0].startswith(time.strftime("%m/%d/%y")), stamps[0]
