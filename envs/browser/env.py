"""BrowserEnv: a GUIEnv on a Chromium page driven by Playwright's sync API.

    env = BrowserEnv(url="http://127.0.0.1:8000/", width=800, height=600, instruction="Log in as bob")
    obs, info = env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step("click(start_box='(120,48)')")

What it gives a subclass (a task family: MiniWoB++, the local web apps):

- one Chromium per process (`manager.py`), a fresh BrowserContext per episode (`context_per_episode=True`)
  or one page reused across episodes when the task resets itself in-page (MiniWoB's core.js does);
- network egress limited to `allow_hosts` (loopback by default) and files under `file_roots` (`network.py`);
- screenshots of the viewport (`width` x `height` CSS pixels at device scale 1: screenshot pixel = CSS px);
- the element list and the ARIA tree (`dom.py`), real mouse/keyboard input for every verb (`input.py`);
- waits on page state, never fixed sleeps: after load, `ready_js` must hold (a JS expression); after each
  action, a navigation the action started is followed to its new document, which must become ready, then
  running finite animations (CSS/Web Animations, jQuery) are given up to `settle_timeout_s` to finish.
  Every wait Playwright can bound has a timeout. A page that never becomes ready fails `reset` with
  `PageNotReady`, or ends the episode truncated with the reason in `info["truncation_reason"]` when it
  happens after a step. A closed or crashed browser does the same; the next reset relaunches it. A page on
  which any call failed is not reused: the next reset opens a fresh one. A reset whose task loaded but whose
  first screenshot timed out (Chromium, rarely, never renders a fresh page's first frame) starts the task
  once more on a fresh page. Playwright gives `page.evaluate` no timeout: a page whose own script never
  yields holds it, and the rollout collector's `env_call_timeout_s` is what ends that (it restarts the env
  worker).

Subclass hooks (all optional): `_task_url(seed, options)`, `_start_episode(seed, options) -> instruction`
(runs on a ready page), `_evaluate(action)`, `_init_script()` (JS added to every document before its own
scripts), `_element_root()` (a CSS selector the element list is confined to), `expert_action()`.
The `wait()` verb lets `wait_action_s` of page time pass (the agent asked for time to pass), then settles.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from playwright.sync_api import BrowserContext, CDPSession, Error, Page, Request
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from envs.actions import Action
from envs.browser import dom
from envs.browser.ahead import Ahead
from envs.browser.input import perform
from envs.browser.manager import browser_manager
from envs.browser.network import LOOPBACK_HOSTS, NetworkPolicy
from envs.core.elements import Element
from envs.core.gui_env import EnvFault, GUIEnv

READY_DEFAULT = "document.readyState === 'complete'"
# Finite animations still running: CSS transitions/animations and jQuery's effect queue.
IDLE_JS = """
() => {
  const jq = window.jQuery;
  if (jq && jq.timers && jq.timers.length) return false;
  if (!document.getAnimations) return true;
  return !document.getAnimations().some((a) => a.playState === 'running' &&
    a.effect && a.effect.getComputedTiming().endTime !== Infinity);
}
"""
SCREENSHOT_PARAMS = {"format": "png", "optimizeForSpeed": True, "captureBeyondViewport": False}


class PageNotReady(EnvFault):
    """The page did not load, or `ready_js` did not become true, within the timeout."""


class BrowserEnv(GUIEnv):
    def __init__(
        self,
        url: str | None = None,
        width: int = 800,
        height: int = 600,
        instruction: str = "",
        allow_hosts: Sequence[str] = LOOPBACK_HOSTS,
        file_roots: Sequence[str] | None = None,
        ready_js: str = READY_DEFAULT,
        context_per_episode: bool = True,
        page_timeout_s: float = 10.0,
        settle_timeout_s: float = 2.0,
        wait_action_s: float = 0.5,
        scroll_px: int = 100,
        **kwargs: Any,
    ) -> None:
        super().__init__(width, height, **kwargs)
        self.url = url
        self.default_instruction = instruction
        if file_roots is None:  # a file:// task may load the files beside it, nothing else on disk
            file_roots = [str(Path(url[7:]).parent)] if url and url.startswith("file://") else []
        self.network = NetworkPolicy(allow_hosts=tuple(allow_hosts), file_roots=tuple(file_roots))
        self.ready_js = ready_js
        self.context_per_episode = context_per_episode
        self.page_timeout_s = page_timeout_s
        self.settle_timeout_s = settle_timeout_s
        self.wait_action_s = wait_action_s
        self.scroll_px = scroll_px
        self.context: BrowserContext | None = None
        self.page: Page | None = None
        self._cdp: CDPSession | None = None
        self.settled_state: Any = None  # `_state_js()` as read by the last settle, when the page was at rest
        self.read_elements: list[dict[str, Any]] | None = None  # element rows read ahead of `_elements()`
        self.check_ready_on_reuse = True  # a subclass whose episode start checks readiness itself sets False
        self._nav: str = ""  # main-frame navigation since the last settle: "", "requested", "committed"
        self.episodes_on_page = 0  # episodes played on the current page (reused pages count up)
        self._pending: Ahead | None = None  # a call sent ahead at reset, finished by the first screenshot
        self._faulted = False  # a call on this page failed: the next reset opens a fresh page
        # Chromium, rarely, never renders a fresh page's first frame: its screenshot times out, and reset
        # starts the task once more on a fresh page.
        self.observe_retries = 1

    # -- hooks for task families ------------------------------------------------------------------------
    def _task_url(self, seed: int, options: dict[str, Any]) -> str:
        if not self.url:
            raise ValueError(f"{type(self).__name__}: no url given (pass url=... or override _task_url)")
        return self.url

    def _start_episode(self, seed: int, options: dict[str, Any]) -> str:
        """Set the task up on the ready page; return the instruction."""
        return str(options.get("instruction", self.default_instruction))

    def _init_script(self) -> str:
        return ""

    def _element_root(self) -> str | None:
        return None

    def _state_js(self) -> str | None:
        """A JS expression read together with the settle check after each action (see `settle`)."""
        return None

    def _evaluate(self, action: Action | None) -> tuple[float, bool]:
        return 0.0, False  # a bare page has no task: only finished() ends the episode

    # -- GUIEnv hooks -----------------------------------------------------------------------------------
    def _reset_task(self, seed: int, options: dict[str, Any]) -> str:
        url = self._task_url(seed, options)
        with contextlib.suppress(EnvFault):  # a call sent ahead by a reset that failed before its screenshot
            self._finish_pending()
        self.settled_state, self.read_elements = None, None
        if self.context_per_episode or not self._page_reusable(url):
            self._open(url)
        else:
            if self.check_ready_on_reuse:
                self._guard(lambda: self._wait_ready(self.page_timeout_s), "reusing the page")
            # The pointer leaves the page: nothing stays hovered (highlighted) from the last episode. Sent
            # ahead (envs/browser/ahead.py): it shares the first screenshot's frame instead of waiting for one.
            page = self._live_page()
            self._pending = self._guard(
                lambda: Ahead(page.mouse, lambda m: m.move(-1, -1, steps=1)), "moving the pointer"
            )
        self.episodes_on_page += 1
        return self._start_episode(seed, options)

    def _finish_pending(self) -> None:
        """Wait for the call sent ahead at reset (its errors surface here, as EnvFault)."""
        pending, self._pending = self._pending, None
        if pending is not None:
            self._guard(pending.wait, "moving the pointer off the page")

    def _execute(self, action: Action) -> str | None:
        self._finish_pending()
        page = self._live_page()
        self._nav, self.settled_state, self.read_elements = "", None, None

        def act() -> None:
            if action.verb == "wait":
                page.wait_for_timeout(self.wait_action_s * 1000)
            elif action.verb != "finished":
                perform(page, action, self.scroll_px)
            self.settle()

        self._guard(act, f"{action.verb}")
        return None

    def _screenshot(self) -> np.ndarray:
        # CDP's Page.captureScreenshot directly: it renders a fresh frame as page.screenshot() does, without
        # Playwright's extra round trips (font and caret handling), a few ms less per observation.
        self._live_page()
        reply = self._guard(
            lambda: self._cdp.send("Page.captureScreenshot", SCREENSHOT_PARAMS, timeout=self._ms()),
            "screenshot",
        )
        self._finish_pending()
        png = base64.b64decode(reply["data"])
        return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.uint8)

    def _elements(self) -> list[Element]:
        if self.read_elements is not None:  # read in the same round trip as the settle check
            rows, self.read_elements = self.read_elements, None
            return [Element.from_dict(r) for r in rows]
        page = self._live_page()
        return self._guard(lambda: dom.read_elements(page, self._element_root()), "reading elements")

    def elements_js(self) -> str:
        """A JS expression giving the element rows (or null when the text mode needs none), for a subclass
        to read with its own evaluate; what it reads goes into `self.read_elements` for the observation."""
        if self.text_mode == "off":
            return "null"
        return (
            f"({dom.ELEMENTS_JS})({json.dumps({'root': self._element_root(), 'limit': dom.ELEMENT_LIMIT})})"
        )

    def _axtree(self) -> str:
        page = self._live_page()
        return self._guard(lambda: dom.read_axtree(page, self._element_root(), self.page_timeout_s), "axtree")

    def _close(self) -> None:
        self._close_context()

    # -- page lifecycle ---------------------------------------------------------------------------------
    def _open(self, url: str) -> None:
        """A fresh context and page on `url`, loaded and ready."""
        self._close_context()
        browser = browser_manager().browser()
        try:
            self.context = browser.new_context(
                viewport={"width": self.width, "height": self.height},
                device_scale_factor=1,
                service_workers="block",
                accept_downloads=False,
            )
            self.context.set_default_timeout(self._ms())
            self.network.install(self.context)
            self.context.add_init_script(dom.INSTRUMENT_JS + self._init_script())
            page = self.context.new_page()
            self._cdp = self.context.new_cdp_session(page)
        except Error as e:
            raise EnvFault(f"could not open a browser page: {_first_line(e)}") from e
        page.on("dialog", _dismiss)
        page.on("request", self._on_request)
        page.on("requestfailed", self._on_request_failed)
        page.on("framenavigated", self._on_navigated)
        self.page, self._faulted = page, False
        self.episodes_on_page = 0
        try:
            response = page.goto(url, wait_until="load", timeout=self._ms())
        except PlaywrightTimeout as e:
            raise PageNotReady(f"{url} did not load within {self.page_timeout_s:g} s") from e
        except Error as e:
            raise PageNotReady(f"could not load {url}: {_first_line(e)}") from e
        if response is not None and response.status >= 400:
            raise PageNotReady(f"could not load {url}: HTTP {response.status}")
        self._guard(lambda: self._wait_ready(self.page_timeout_s), f"loading {url}")

    def _page_reusable(self, url: str) -> bool:
        page = self.page
        if page is None or page.is_closed() or self._faulted or not browser_manager().running:
            return False
        return page.url.split("#")[0] == url.split("#")[0]

    def _wait_ready(self, timeout_s: float) -> None:
        page = self._live_page()
        if page.evaluate(f"!!({self.ready_js})"):
            return  # ready now: one round trip (wait_for_function would first wait for an animation frame)
        try:
            page.wait_for_function(self.ready_js, timeout=timeout_s * 1000)
        except PlaywrightTimeout as e:
            raise PageNotReady(
                f"page not ready after {timeout_s:g} s: `{self.ready_js}` stayed false on {self.page.url}"
            ) from e

    def settle(self) -> None:
        """Wait until the page is at rest after an action: navigations followed, ready, animations done.

        When the page is at rest at once (the common case), `_state_js()` is read in the same round trip
        and kept in `self.settled_state` for `_evaluate`; otherwise `settled_state` is None.
        """
        page = self._live_page()
        deadline = time.monotonic() + self.settle_timeout_s
        self.settled_state = None
        # One round trip (it also flushes pending request events): at rest? and if so, the task state and
        # the element list for the coming observation.
        probe = (
            f"(() => ({IDLE_JS})() ? [true, {self._state_js() or 'null'}, {self.elements_js()}] : [false])()"
        )
        try:
            idle, *read = page.evaluate(probe)
        except Error as e:
            if "context was destroyed" not in str(e) and "navigat" not in str(e):
                raise
            idle, read, self._nav = False, [], self._nav or "committed"
        while self._nav == "requested" and time.monotonic() < deadline:
            # Short slices, so a navigation that fails (blocked, aborted) ends the wait at once.
            with contextlib.suppress(PlaywrightTimeout):
                page.wait_for_event("framenavigated", timeout=50)
        if self._nav:
            self._nav = ""
            self._wait_ready(max(0.05, deadline - time.monotonic()) + self.page_timeout_s)
            idle = False
        if idle:
            self.settled_state, self.read_elements = read
        else:
            # Endless animations (a spinner) are not a fault: observe the page as it is.
            with contextlib.suppress(PlaywrightTimeout):
                page.wait_for_function(IDLE_JS, timeout=max(1.0, (deadline - time.monotonic()) * 1000))

    def _on_request(self, request: Request) -> None:
        if request.is_navigation_request() and self.page and request.frame == self.page.main_frame:
            self._nav = self._nav or "requested"

    def _on_request_failed(self, request: Request) -> None:
        if request.is_navigation_request() and self._nav == "requested":
            self._nav = ""

    def _on_navigated(self, frame: Any) -> None:
        if self.page and frame == self.page.main_frame:
            self._nav = "committed"

    def _close_context(self) -> None:
        with contextlib.suppress(EnvFault):  # its page is closing anyway
            self._finish_pending()
        context, self.context, self.page = self.context, None, None
        if context is not None:
            with contextlib.suppress(Error):  # the browser is already gone
                context.close()

    # -- helpers ----------------------------------------------------------------------------------------
    def _live_page(self) -> Page:
        if self.page is None or self.page.is_closed():
            raise EnvFault(
                "the browser page is closed (the browser was closed or crashed); reset() reopens it"
            )
        return self.page

    def _guard(self, fn: Any, what: str) -> Any:
        """Run a Playwright call; its timeouts and errors become EnvFault (the episode ends truncated)."""
        try:
            return fn()
        except PlaywrightTimeout as e:
            self._faulted = True
            raise PageNotReady(f"{what}: timed out ({_first_line(e)})") from e
        except Error as e:
            self._faulted = True
            raise EnvFault(f"{what}: browser error: {_first_line(e)}") from e

    def _ms(self) -> float:
        return self.page_timeout_s * 1000


def _first_line(e: Exception) -> str:
    msg = getattr(e, "message", None) or str(e)
    return msg.strip().splitlines()[0] if msg.strip() else type(e).__name__


def _dismiss(dialog: Any) -> None:
    """alert/confirm/prompt would block the page: dismiss them (a task that needs them overrides this)."""
    with contextlib.suppress(Error):
        dialog.dismiss()
