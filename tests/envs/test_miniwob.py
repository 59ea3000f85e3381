"""MiniWoB++ through agentrl's browser env: registration, the gymnasium contract, what screenshots show,
rewards from core.js, page reuse, and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import envs
from envs.browser import browser_manager
from envs.browser.miniwob.experts import expert_tasks
from envs.browser.miniwob.tasks import html_dir, task_names
from envs.core import ResetNeeded

CLICK_BUTTON = "agentrl/miniwob.click-button-v0"


@pytest.fixture(scope="module")
def env():
    e = envs.make(CLICK_BUTTON)
    yield e
    e.close()


def _button_point(env, want_right: bool) -> tuple[int, int] | None:
    """The centre of a button with (or without) the instruction's label, from the element list."""
    target = env.unwrapped.instruction.split('"')[1]
    for e in env.unwrapped._elements():
        if e.role == "button" and (e.text == target) == want_right:
            return e.center
    return None


def test_every_task_page_is_registered_with_its_expert_flag():
    pages = sorted(p.stem for p in (html_dir() / "miniwob").glob("*.html"))
    assert len(pages) >= 100 and list(task_names()) == pages
    specs = {s.id: s for s in envs.list_envs(kind="browser") if "miniwob" in s.tags}
    assert set(specs) == {f"agentrl/miniwob.{t}-v0" for t in pages}
    assert {s.id for s in specs.values() if s.has_expert} == {
        f"agentrl/miniwob.{t}-v0" for t in expert_tasks()
    }
    assert len(expert_tasks()) >= 12


def test_gymnasium_checker_passes():
    e = envs.make("agentrl/miniwob.click-checkboxes-v0")
    check_env(e.unwrapped)
    e.close()


def test_screenshot_shows_the_task_and_the_page_cannot_scroll(env):
    obs, info = env.reset(seed=3)
    shot = obs["screenshot"]
    assert shot.shape == (210, 160, 3)
    assert tuple(shot[2, 2]) == (255, 255, 0)  # MiniWoB's yellow instruction bar, top-left
    page = env.unwrapped.page
    hidden = "['reward-display', 'sync-task-cover'].map((id) => getComputedStyle(document.getElementById(id)).display)"
    assert page.evaluate(hidden) == ["none", "none"]
    assert (
        page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")[1]
        == 160
    )
    env.step("scroll(start_box='(80,150)', direction='right')")
    env.step("scroll(start_box='(80,150)', direction='down')")
    assert page.evaluate("[scrollX, scrollY]") == [0, 0]
    assert page.evaluate("core.EPISODE_MAX_TIME") == 3600 * 1000  # slow policies are not timed out


def test_same_seed_same_task_other_seed_differs(env):
    a, _ = env.reset(seed=11)
    b, _ = env.reset(seed=12)
    c, _ = env.reset(seed=11)
    assert a["instruction"] == c["instruction"] and np.array_equal(a["screenshot"], c["screenshot"])
    assert a["text"] == c["text"]
    assert not np.array_equal(a["screenshot"], b["screenshot"])


def test_reward_is_binary_by_default_and_raw_reward_is_in_info(env):
    outcomes = set()
    for seed in range(20):
        env.reset(seed=seed)
        right = seed % 2 == 0
        point = _button_point(env, want_right=right)
        if point is None:
            continue  # this seed has no wrong button
        _, r, term, trunc, info = env.step(f"click(start_box='{point}')")
        assert term and not trunc
        if right:
            assert r == 1.0 and info["raw_reward"] == 1.0 and info["success"]
        else:
            assert r == 0.0 and info["raw_reward"] == -1.0 and not info["success"]
        outcomes.add(right)
    assert outcomes == {True, False}


def test_raw_reward_when_binary_reward_is_off():
    env = envs.make(CLICK_BUTTON, binary_reward=False)
    for seed in range(10):
        env.reset(seed=seed)
        point = _button_point(env, want_right=False)
        if point is not None:
            break
    _, r, term, _, info = env.step(f"click(start_box='{point}')")
    assert term and r == -1.0 == info["raw_reward"]
    env.close()


def test_one_page_serves_every_episode(env):
    env.reset(seed=0)
    page, launches = env.unwrapped.page, browser_manager().launches
    for seed in range(1, 6):
        env.reset(seed=seed)
    assert env.unwrapped.page is page and browser_manager().launches == launches


def test_fresh_context_per_episode_when_asked():
    env = envs.make(CLICK_BUTTON, context_per_episode=True)
    a, _ = env.reset(seed=4)
    page = env.unwrapped.page
    b, _ = env.reset(seed=4)
    assert env.unwrapped.page is not page and np.array_equal(a["screenshot"], b["screenshot"])
    env.close()


def test_element_list_and_axtree_describe_the_task():
    env = envs.make("agentrl/miniwob.click-checkboxes-v0", text_mode="axtree")
    obs, info = env.reset(seed=2)
    assert "- checkbox" in obs["text"] and '- button "Submit"' in obs["text"]
    roles = [e["role"] for e in info["elements"]]
    assert "checkbox" in roles and "button" in roles
    env.close()


def test_elements_read_with_the_reset_and_settle_round_trips_match_a_fresh_read():
    from envs.browser.dom import read_elements

    env = envs.make("agentrl/miniwob.click-checkboxes-v0")
    _, info = env.reset(seed=5)
    fresh = lambda: [e.to_dict() for e in read_elements(env.unwrapped.page)]  # noqa: E731
    assert info["elements"] == fresh() and info["elements"]
    box = next(e for e in info["elements"] if e["role"] == "checkbox")
    _, _, _, _, info = env.step(f"click(start_box='({box['x'] + box['w'] // 2},{box['y'] + box['h'] // 2})')")
    assert info["elements"] == fresh() and info["elements"][box["index"]]["value"] == "checked"
    env.close()


def test_bad_input_is_refused_clearly(env):
    with pytest.raises(envs.UnknownEnvError, match="did you mean 'agentrl/miniwob.click-button-v0'"):
        envs.make("agentrl/miniwob.click-buton-v0")
    with pytest.raises(ValueError, match="unknown MiniWoB task 'nope'"):
        envs.make(CLICK_BUTTON, task="nope")
    with pytest.raises(ValueError, match="seed: must be a non-negative integer"):
        env.reset(seed=-3)
    env.reset(seed=0)
    _, _, _, _, info = env.step("click(start_box='(900,10)')")
    assert "outside the 160x210 screen" in info["action_error"]
    _, _, term, _, _ = env.step("finished(content='done')")
    assert term
    with pytest.raises(ResetNeeded):
        env.step("wait()")


def test_step_budget_truncates():
    env = envs.make("agentrl/miniwob.click-checkboxes-v0", max_steps=2)
    env.reset(seed=0)
    env.step("wait()")
    _, _, term, trunc, info = env.step("wait()")
    assert trunc and not term and info["truncation_reason"] == "step budget exhausted"
    env.close()
