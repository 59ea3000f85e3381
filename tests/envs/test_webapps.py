"""The local web apps (shop, mail, admin): experts solve every template, checkers read server state, episodes
are isolated, the server stops on close, the gymnasium checker passes, and tasks come from the seed."""

from __future__ import annotations

import random
import socket
import struct
import time
import urllib.request
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

import pytest
from gymnasium.utils.env_checker import check_env

import envs
from envs.actions import parse_action
from envs.browser.webapps import load_apps
from envs.browser.webapps.base import APPS, env_id
from envs.browser.webapps.experts import expert_templates
from envs.browser.webapps.server import AppServer
from envs.browser.webapps.shop import Shop

load_apps()
TEMPLATES = [(app, t) for app, cls in sorted(APPS.items()) for t in cls.templates]
SEEDS = range(8)  # per template: 120 expert episodes in all


def _play(env: Any, seed: int, perturb: Any = None) -> tuple[dict[str, Any], int, set[str]]:
    """One expert episode: (last info, steps, page paths visited). `perturb(task)` may swap the task's
    parameters first, so the expert pursues a wrong goal."""
    env.reset(seed=seed)
    e = env.unwrapped
    if perturb is not None:
        e.task = perturb(e.task)
    paths, steps, done, info = {urlsplit(e.page.url).path}, 0, False, {}
    while not done:
        text = e.expert_action()
        p = parse_action(text).action.start
        assert p is None or (0 <= p[0] < 800 and 0 <= p[1] < 600), text
        _, _, term, trunc, info = env.step(text)
        paths.add(urlsplit(e.page.url).path)
        steps, done = steps + 1, term or trunc
    return info, steps, paths


def test_every_template_is_registered_as_a_web_app_with_an_expert():
    assert len(APPS) >= 3 and all(len(cls.templates) >= 5 for cls in APPS.values())
    specs = {s.id: s for s in envs.list_envs(kind="web-app") if "webapp" in s.tags}
    assert set(specs) == {env_id(a, t) for a, t in TEMPLATES}
    assert all(s.has_expert for s in specs.values())
    assert sorted(expert_templates()) == sorted(TEMPLATES)


@pytest.mark.parametrize(("app", "template"), TEMPLATES)
def test_expert_solves_the_template_in_3_to_15_steps_across_pages(app: str, template: str):
    env = envs.make(env_id(app, template), text_mode="off")  # the expert reads the DOM, not the list
    failed, steps, pages = [], [], set()
    for seed in SEEDS:
        info, n, paths = _play(env, seed)
        steps.append(n)
        pages |= paths
        if not info["success"]:
            failed.append((seed, info["truncation_reason"]))
    env.close()
    assert 1 - len(failed) / len(SEEDS) >= 0.95, f"failed (seed, reason): {failed}"
    assert min(steps) >= 3 and max(steps) <= 15, steps
    assert len(pages) >= 2, pages


def _with(task: Any, **params: Any) -> Any:
    return replace(task, params={**task.params, **params})


# Each swaps the expert's goal for a wrong one: the checker must see the wrong outcome on the server.
WRONG_GOALS = {
    ("shop", "buy-item"): lambda t, app: _with(t, items={p: q + 1 for p, q in t.params["items"].items()}),
    ("mail", "reply"): lambda t, app: _with(t, to="nobody@mail.test"),
    ("mail", "move-from-sender"): lambda t, app: _with(t, goal={i: ("Trash", s) for i, (_, s) in t.params["goal"].items()}),
    ("admin", "change-role"): lambda t, app: _with(t, role=next(
        r for r in ("Viewer", "Editor", "Admin") if r not in (t.params["role"], app.users[t.params["user"]].role))),
    ("admin", "change-timezone"): lambda t, app: _with(t, timezone="UTC" if t.params["timezone"] != "UTC" else "Asia/Tokyo"),
}  # fmt: skip


@pytest.mark.parametrize(("app", "template"), sorted(WRONG_GOALS))
def test_a_wrong_outcome_on_the_server_ends_the_episode_with_reward_0(app: str, template: str):
    env = envs.make(env_id(app, template), text_mode="off")
    for seed in range(3):
        info, _, _ = _play(
            env, seed, perturb=lambda task: WRONG_GOALS[(app, template)](task, env.unwrapped.app)
        )
        assert info["raw_reward"] == 0.0 and not info["success"]
        assert not info["truncation_reason"], "the checker ended the episode, not the step budget"
    env.close()


def test_episodes_are_isolated_state_does_not_leak_into_the_next_reset():
    env = envs.make(env_id("shop", "buy-item"), text_mode="off")
    first, _ = env.reset(seed=4)
    e = env.unwrapped
    info, _, _ = _play(env, 4)
    assert info["success"] and len(e.app.orders) == 1
    again, _ = env.reset(seed=4)
    assert e.app.orders == [] and e.app.cart == {} and e.app.events == []
    assert again["instruction"] == first["instruction"]
    assert (
        again["screenshot"] == first["screenshot"]
    ).all()  # "Cart (0)": nothing left from the last episode
    assert e.page.context.cookies() == []
    env.close()


def test_the_server_stops_on_close_and_a_later_reset_starts_a_new_one():
    env = envs.make(env_id("mail", "reply"), text_mode="off")
    env.reset(seed=0)
    port = env.unwrapped.server.port
    with socket.create_connection(("127.0.0.1", port), timeout=2):
        pass
    env.close()
    assert env.unwrapped.server is None
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    env.reset(seed=0)
    assert env.unwrapped.server is not None
    env.close()


def test_a_page_that_drops_its_connection_mid_response_is_not_reported(capfd: pytest.CaptureFixture[str]):
    """Closing a context while its page loads resets the connection: the server stays quiet and serving."""
    app = Shop()
    app.start(random.Random(0))
    server = AppServer(app)
    try:
        for _ in range(20):
            s = socket.create_connection(("127.0.0.1", server.port), timeout=2)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close() sends RST
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            s.close()
        with urllib.request.urlopen(server.url + "/", timeout=5) as r:
            assert r.status == 200
        time.sleep(0.5)  # the handler threads of the reset connections finish
    finally:
        server.stop()
    assert "Traceback" not in capfd.readouterr().err


def test_gymnasium_checker_passes():
    env = envs.make(env_id("admin", "change-role"))
    check_env(env.unwrapped)
    env.close()


@pytest.mark.parametrize(("app", "template"), TEMPLATES)
def test_the_seed_decides_the_task(app: str, template: str):
    """Same seed -> same state and instruction; different seeds -> different tasks (no browser needed)."""

    def task(seed: int) -> tuple[str, Any]:
        a = APPS[app]()
        rng = random.Random(seed)
        a.start(rng)
        return APPS[app].templates[template].make(a, rng).instruction, a.handle("GET", "/", {}).body

    assert task(7) == task(7)
    tasks = [task(s) for s in range(10)]
    assert len(set(tasks)) == 10  # the instruction or the app's data differ with every seed
    assert len({instruction for instruction, _ in tasks}) >= 3


def test_the_same_seed_gives_the_same_first_observation_in_the_env():
    env = envs.make(env_id("shop", "two-items-address"), text_mode="off")
    a, _ = env.reset(seed=1)
    b, _ = env.reset(seed=2)
    c, _ = env.reset(seed=1)
    assert a["instruction"] == c["instruction"] != b["instruction"]
    assert (a["screenshot"] == c["screenshot"]).all() and not (a["screenshot"] == b["screenshot"]).all()
    env.close()


def test_the_shop_rejects_a_bad_quantity_and_an_unknown_coupon():
    shop = Shop()
    shop.start(random.Random(0))
    assert "Quantity must be" in shop.handle("POST", "/cart/add", {"id": "p1", "qty": "0"}).body
    assert shop.handle("POST", "/cart/coupon", {"coupon": "NOPE"}).location == "/cart"
    assert shop.coupon == "" and shop.cart == {}
