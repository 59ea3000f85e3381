"""BrowserEnv on real Chromium: input for every verb, element list, navigation, network policy, reuse, faults."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from envs.browser import BrowserEnv, PageNotReady, browser_manager
from envs.core import ResetNeeded

PAGE = """<!DOCTYPE html><html><head><title>start</title></head><body style="margin:0">
<button id="b1" style="position:absolute;left:10px;top:10px;width:80px;height:30px"
  onclick="document.title='clicked'" ondblclick="document.title='double'"
  oncontextmenu="document.title='right'; return false">Hello</button>
<label style="position:absolute;left:10px;top:50px"><input type="checkbox" id="c">Remember</label>
<input id="t" placeholder="Name" style="position:absolute;left:10px;top:80px;width:100px">
<span id="s" style="position:absolute;left:10px;top:110px">spanlink</span>
<div id="cover" style="position:absolute;left:120px;top:10px;width:60px;height:60px;background:red;z-index:5"></div>
<button id="under" style="position:absolute;left:100px;top:20px;width:40px;height:30px">Under</button>
<button id="hidden" style="position:absolute;left:120px;top:30px;width:20px;height:20px">Gone</button>
<div id="drop" style="position:absolute;left:10px;top:140px;width:180px;height:40px;background:#eee"></div>
<div id="tall" style="position:absolute;left:0;top:0;width:10px;height:3000px"></div>
<a id="next" href="next.html" style="position:absolute;left:120px;top:110px">Next</a>
<script>
  document.getElementById('s').addEventListener('click', () => { document.title = 'span'; });
  let down = null;
  addEventListener('mousedown', (e) => { down = [e.clientX, e.clientY]; });
  addEventListener('mouseup', (e) => { if (down && (down[0] != e.clientX || down[1] != e.clientY))
    document.title = 'drag ' + down + ' ' + [e.clientX, e.clientY]; });
  addEventListener('keydown', (e) => { if (e.ctrlKey && e.key == 'b') document.title = 'ctrl-b'; });
</script></body></html>"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("site")
    (d / "page.html").write_text(PAGE)
    (d / "next.html").write_text("<html><head><title>second</title></head><body>page two</body></html>")
    return d


@pytest.fixture(scope="module")
def env(site: Path) -> Iterator[BrowserEnv]:
    e = BrowserEnv(url=(site / "page.html").as_uri(), width=200, height=200, instruction="play", max_steps=30)
    yield e
    e.close()


def test_observation_has_screenshot_instruction_and_clickable_elements(env: BrowserEnv):
    obs, info = env.reset(seed=0)
    assert obs["screenshot"].shape == (200, 200, 3) and obs["screenshot"].dtype == np.uint8
    assert obs["instruction"] == "play"
    els = {e["text"]: e for e in info["elements"]}
    assert els["Hello"]["role"] == "button" and (els["Hello"]["x"], els["Hello"]["y"]) == (10, 10)
    assert els["Remember"]["role"] == "checkbox" and els["Name"]["role"] == "textbox"
    assert els["spanlink"]["role"] == "clickable"  # a script attached a click handler to it
    assert els["Next"]["role"] == "link"
    assert "Gone" not in els  # fully covered by the red div: no point of it can be clicked
    under = els["Under"]  # partly covered: listed with a box centred on a point that reaches it
    cx, cy = under["x"] + under["w"] // 2, under["y"] + under["h"] // 2
    assert cx < 120 and env.page.evaluate(f"document.elementFromPoint({cx},{cy}).id") == "under"
    assert '[0] button "Hello" (50,25)' in obs["text"]


def test_every_verb_is_real_input(env: BrowserEnv):
    env.reset(seed=0)
    title = env.page.title
    env.step("click(start_box='(50,25)')")
    assert title() == "clicked"
    env.step("left_double(start_box='(50,25)')")
    assert title() == "double"
    env.step("right_single(start_box='(50,25)')")
    assert title() == "right"
    _, _, _, _, info = env.step("click(start_box='(20,59)')")  # the checkbox
    assert {e["text"]: e["value"] for e in info["elements"]}["Remember"] == "checked"
    env.step("click(start_box='(60,90)')")
    _, _, _, _, info = env.step("type(content='bob')")
    assert {e["text"]: e["value"] for e in info["elements"]}["Name"] == "bob"
    env.step("hotkey(key='ctrl a')")
    env.step("type(content='al')")
    assert env.page.input_value("#t") == "al"
    env.step("hotkey(key='ctrl b')")
    assert title() == "ctrl-b"
    env.step("drag(start_box='(20,150)', end_box='(150,170)')")
    assert title() == "drag 20,150 150,170"
    env.step("scroll(start_box='(100,100)', direction='down')")
    assert env.page.evaluate("scrollY") == 100
    _, _, _, _, info = env.step("hotkey(key='hyper x')")
    assert "unknown key 'hyper'" in info["action_error"]


def test_reset_gives_a_fresh_context(env: BrowserEnv):
    env.reset(seed=0)
    env.step("click(start_box='(60,90)')")
    env.step("type(content='left over')")
    env.page.evaluate("localStorage.setItem('k', 'v')")
    env.reset(seed=1)
    assert env.page.input_value("#t") == "" and env.page.evaluate("localStorage.getItem('k')") is None


def test_link_navigation_is_followed_to_the_ready_page(env: BrowserEnv):
    env.reset(seed=0)
    obs, _, _, _, info = env.step("click(start_box='(130,118)')")
    assert env.page.title() == "second" and info["elements"] == []


def test_one_browser_is_shared_by_envs_and_episodes(site: Path, env: BrowserEnv):
    env.reset(seed=0)
    launches = browser_manager().launches
    other = BrowserEnv(url=(site / "next.html").as_uri(), width=100, height=100)
    for seed in range(3):
        other.reset(seed=seed)
        env.reset(seed=seed)
    other.close()
    assert browser_manager().launches == launches and browser_manager().running


def test_axtree_text_mode(site: Path):
    env = BrowserEnv(url=(site / "page.html").as_uri(), width=200, height=200, text_mode="axtree")
    obs, _ = env.reset(seed=0)
    env.close()
    assert '- button "Hello"' in obs["text"] and '- checkbox "Remember"' in obs["text"]


class _Server(http.server.ThreadingHTTPServer):
    hits: list[str]


@pytest.fixture
def server() -> Iterator[_Server]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            srv.hits.append(self.path)
            body = b"<html><body>local</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    srv = _Server(("127.0.0.1", 0), Handler)
    srv.hits = []
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()
    thread.join(timeout=5)


def test_network_allows_loopback_and_task_files_only(server: _Server, site: Path, tmp_path: Path):
    port = server.server_address[1]
    secret = tmp_path / "secret.txt"
    secret.write_text("private")
    (site / "net.html").write_text("<html><body>net</body></html>")
    env = BrowserEnv(url=(site / "net.html").as_uri(), width=100, height=100, page_timeout_s=5)
    env.reset(seed=0)
    fetch = "async (u) => { try { await fetch(u, {mode: 'no-cors'}); return 'ok'; } catch (e) { return 'blocked'; } }"
    assert env.page.evaluate(fetch, f"http://127.0.0.1:{port}/ok") == "ok"
    assert env.page.evaluate(fetch, "http://example.com/") == "blocked"
    assert env.page.evaluate(fetch, "https://1.1.1.1/") == "blocked"
    assert env.page.evaluate(fetch, secret.as_uri()) == "blocked"
    assert any("example.com" in u for u in env.network.blocked)
    assert server.hits == ["/ok"]
    env.close()


@pytest.mark.timeout(120)  # a hang guard, not a speed check: the error names the timeout that fired
def test_page_that_never_becomes_ready_fails_reset_within_its_timeout(site: Path):
    env = BrowserEnv(url=(site / "page.html").as_uri(), width=100, height=100, ready_js="false",
                     page_timeout_s=0.5)  # fmt: skip
    with pytest.raises(PageNotReady, match=r"after 0\.5 s: `false` stayed false"):
        env.reset(seed=0)
    env.close()


def test_missing_page_is_a_clear_error(site: Path):
    env = BrowserEnv(url=(site / "nope.html").as_uri(), width=100, height=100, page_timeout_s=2)
    with pytest.raises(PageNotReady, match="could not load"):
        env.reset(seed=0)
    env.close()


def test_closed_browser_truncates_the_episode_and_reset_relaunches(site: Path):
    env = BrowserEnv(url=(site / "page.html").as_uri(), width=200, height=200)
    env.reset(seed=0)
    launches = browser_manager().launches
    browser_manager().browser().close()
    obs, r, term, trunc, info = env.step("click(start_box='(50,25)')")
    assert trunc and not term and r == 0 and "closed" in info["truncation_reason"]
    with pytest.raises(ResetNeeded):
        env.step("wait()")
    obs, _ = env.reset(seed=1)
    assert browser_manager().launches == launches + 1 and obs["screenshot"].any()
    env.close()
    with pytest.raises(ResetNeeded):
        env.step("wait()")


class _FrozenOnce(BrowserEnv):
    """Its `freeze_at`-th episode start blocks the page's main thread for 15 s, so no frame is rendered and
    that episode's first screenshot cannot be taken (as when Chromium never renders a fresh page's frame)."""

    freeze_at = 1

    def __init__(self, **kw: object) -> None:
        super().__init__(**kw)
        self.starts: list[object] = []

    def _start_episode(self, seed: int, options: dict) -> str:
        self.starts.append(self.page)
        if len(self.starts) == self.freeze_at:
            self.page.evaluate("setTimeout(() => { const t = Date.now(); while (Date.now() - t < 15000); })")
        return "play"


@pytest.mark.parametrize("context_per_episode", [True, False])
def test_a_screenshot_that_times_out_at_reset_starts_the_task_again_on_a_fresh_page(
    site: Path, context_per_episode: bool
):
    env = _FrozenOnce(url=(site / "page.html").as_uri(), width=200, height=200, page_timeout_s=1.0,
                      context_per_episode=context_per_episode)  # fmt: skip
    env.freeze_at = 2
    try:
        env.reset(seed=0)
        obs, info = env.reset(seed=1)  # the first try's screenshot times out after 1 s; the second succeeds
        frozen, fresh = env.starts[1], env.starts[2]
        assert len(env.starts) == 3 and fresh is env.page and fresh is not frozen and frozen.is_closed()
        assert env.episodes_on_page == 1 and info["seed"] == 1 and obs["screenshot"].any()
        env.step("click(start_box='(50,25)')")
        assert env.page.title() == "clicked"
    finally:
        env.close()


def test_a_reset_whose_page_stays_frozen_fails_with_the_screenshot_timeout(site: Path):
    env = _FrozenOnce(url=(site / "page.html").as_uri(), width=200, height=200, page_timeout_s=1.0)
    env.observe_retries = 0
    try:
        with pytest.raises(PageNotReady, match="screenshot: timed out"):
            env.reset(seed=0)
        assert env.reset(seed=0)[0]["screenshot"].any()  # the next reset opens a fresh page
    finally:
        env.close()


HOVER_PAGE = """<!DOCTYPE html><html><head><style>
#h { position:absolute; left:20px; top:20px; width:120px; height:80px; background:#3050c0 }
#h:hover { background:#e04020 }
</style></head><body style="margin:0"><div id="h"></div></body></html>"""


def test_a_reused_page_starts_every_episode_with_nothing_hovered(tmp_path: Path):
    """The pointer leaves the page at each reset (sent ahead of the episode's start, finished before the
    first screenshot is returned): a hover from the last episode never shows in the next first frame."""
    (tmp_path / "hover.html").write_text(HOVER_PAGE)
    env = BrowserEnv(url=(tmp_path / "hover.html").as_uri(), width=160, height=120, context_per_episode=False)
    try:
        first, _ = env.reset(seed=0)
        blue = first["screenshot"][60, 80].tolist()
        for seed in range(1, 25):
            obs, *_ = env.step("click(start_box='(80,60)')")
            assert obs["screenshot"][60, 80].tolist() != blue  # hovered: the pointer is on it
            obs, _ = env.reset(seed=seed)
            assert env.episodes_on_page == seed + 1  # the same page, reused
            np.testing.assert_array_equal(obs["screenshot"], first["screenshot"])
            assert env.page.evaluate("document.querySelectorAll(':hover').length") == 0
    finally:
        env.close()


def test_a_call_sent_ahead_falls_back_to_running_at_once_off_the_sync_api():
    """envs/browser/ahead.py: an object without Playwright's sync-API internals gets the plain call."""
    from envs.browser.ahead import Ahead

    calls = []

    class Mouse:
        def move(self, x: int, y: int, steps: int = 1) -> str:
            calls.append((x, y, steps))
            return "moved"

    pending = Ahead(Mouse(), lambda m: m.move(-1, -1, steps=1))
    assert calls == [(-1, -1, 1)]  # already done
    assert pending.wait() == "moved" and pending.wait() == "moved"
