"""WebAppEnv: one task template of one local web app, served by the env itself on a loopback port.

    env = WebAppEnv(app="shop", template="buy-item")        # or envs.make("agentrl/webapp.shop.buy-item-v0")
    obs, info = env.reset(seed=3)                            # state and instruction from the seed
    obs, reward, terminated, truncated, info = env.step(env.expert_action())

The server starts on the first reset and stops on close() (a reset after close starts a new one). Each
reset rebuilds the app's whole state from the seed and opens the app's start page in a fresh browser
context (no cookies or cache carried over), so episodes are isolated. After every step the task's checker
reads the app's server-side state: reward 1 and the episode over once the goal holds; the episode also ends,
with reward 0, when the app reaches a terminal state (an order placed, a message sent, a form saved) without
the goal.
"""

from __future__ import annotations

import random
import time
from typing import Any

from playwright.sync_api import Error
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from envs.actions import Action
from envs.browser.env import BrowserEnv
from envs.browser.webapps.base import APPS, App, Task
from envs.browser.webapps.server import AppServer

# Marks a document the user is leaving: a form was submitted or a link followed (and no script stopped it).
# A submission's navigation starts a task after the click returns, so the base settle can miss it; `settle`
# below waits until the marked document is replaced by a ready one.
LEAVING_INIT_JS = """
addEventListener('submit', (e) => { if (!e.defaultPrevented) window.__webappLeaving = true; });
addEventListener('click', (e) => {
  const a = e.target.closest && e.target.closest('a[href]');
  if (a && !e.defaultPrevented && !a.getAttribute('href').startsWith('#')) window.__webappLeaving = true;
});
"""
ARRIVED_JS = "!window.__webappLeaving && document.readyState === 'complete'"


class WebAppEnv(BrowserEnv):
    def __init__(self, app: str, template: str, max_steps: int | None = None, **kwargs: Any) -> None:
        from envs.browser.webapps import load_apps

        load_apps()
        if app not in APPS:
            raise ValueError(f"app: unknown '{app}'; allowed: {', '.join(sorted(APPS))}")
        templates = APPS[app].templates
        if template not in templates:
            raise ValueError(
                f"template: unknown '{template}' for app '{app}'; allowed: {', '.join(templates)}"
            )
        self.template = templates[template]
        kwargs.setdefault("width", 800)
        kwargs.setdefault("height", 600)
        super().__init__(max_steps=max_steps or self.template.max_steps, context_per_episode=True, **kwargs)
        self.app_name = app
        self.app: App = APPS[app]()
        self.server: AppServer | None = None
        self.task: Task | None = None

    def _task_url(self, seed: int, options: dict[str, Any]) -> str:
        if self.server is None:
            self.server = AppServer(self.app)
        rng = random.Random(seed)
        with self.app.lock:
            self.app.start(rng)
            self.task = self.template.make(self.app, rng)
        return self.server.url + "/"

    def _init_script(self) -> str:
        return LEAVING_INIT_JS

    def settle(self) -> None:
        """The base settle, then: if the action left the page (a form posted, a link followed) and the new
        page has not arrived yet, wait for it (at most `page_timeout_s`) and settle on it."""
        super().settle()
        page = self._live_page()
        try:
            arrived = page.evaluate(ARRIVED_JS)
        except Error:  # the old document went away during the read: the new one is on its way
            arrived = False
        if arrived:
            return
        self.settled_state, self.read_elements = None, None  # read from the page being left
        deadline = time.monotonic() + self.page_timeout_s
        while True:
            try:
                page.wait_for_function(ARRIVED_JS, timeout=max(1.0, (deadline - time.monotonic()) * 1000))
                break
            except PlaywrightTimeout:
                return  # a submission that never navigated: observe the page as it is
            except Error as e:  # the wait's document was replaced under it: wait on the new one
                if "destroyed" not in str(e) and "navigat" not in str(e):
                    raise
                if time.monotonic() > deadline:
                    return
        super().settle()

    def _start_episode(self, seed: int, options: dict[str, Any]) -> str:
        assert self.task is not None
        return self.task.instruction

    def _evaluate(self, action: Action | None) -> tuple[float, bool]:
        """The checker on the app's server state: (1, over) on the goal, (0, over) on a terminal failure."""
        assert self.task is not None
        with self.app.lock:
            if self.task.check():
                return 1.0, True
            return 0.0, self.task.failed()

    def expert_action(self) -> str:
        from envs.browser.webapps.experts import get_expert

        assert self.task is not None
        expert = get_expert(self.app_name, self.template.name)
        with self.app.lock:  # a consistent view of the state (no request is running during a decision)
            return self._guard(
                lambda: expert(self._live_page(), self.app, self.task), "the expert reading the page"
            )

    def _close(self) -> None:
        super()._close()
        server, self.server = self.server, None
        if server is not None:
            server.stop()
