"""MiniWoBEnv: one MiniWoB++ task page, driven through its core.js, on a page reused across episodes.

A reset is one JS call on the loaded page: `Math.seedrandom(seed)` then `core.startEpisodeReal()` (the
page's `genProblem` redraws the task), with `core.EPISODE_MAX_TIME` raised to `episode_max_time_s` so a
slow policy is not timed out by the page, the data mode set (the `miniwob` package's default, "train"),
and the page scrolled to the top. The page is loaded once (about 300 ms) and then reused: a reset costs a
few milliseconds plus the screenshot. `context_per_episode=True` gives every episode a fresh context and
page instead, for isolation at that price.

The task's own reward is read from core.js's globals after every step: `WOB_DONE_GLOBAL` ends the episode,
`WOB_RAW_REWARD_GLOBAL` (1 success, -1 failure, fractions in a few tasks) is `info["raw_reward"]`, and the
env's reward is binary by default (raw >= 1). The time-discounted `WOB_REWARD_GLOBAL` is not used.

Screenshots show exactly the 160x210 task: MiniWoB's reward display, click canvas and "START" cover are
hidden, and the page cannot scroll (with a 160 px wide viewport, the reward display beside the task would
otherwise scroll the page sideways). jQuery effects run instantly (`instant_effects`), so a screenshot
never catches a dialog or a collapsible half-way.
"""

from __future__ import annotations

from typing import Any

from envs.actions import Action
from envs.browser.env import BrowserEnv
from envs.browser.miniwob.tasks import DEFAULT_MAX_STEPS, MAX_STEPS, html_dir, task_url

TASK_WIDTH, TASK_HEIGHT = 160, 210

# Before the page's own scripts: hide everything that is not the task, and stop all page scrolling.
MINIWOB_INIT_JS = """
document.addEventListener('DOMContentLoaded', () => {
  const style = document.createElement('style');
  style.textContent = '#reward-display, #click-canvas, #attention-canvas, #sync-task-cover ' +
    '{ display: none !important; } html, body { overflow: hidden !important; }';
  document.head.appendChild(style);
});
"""
READY_JS = (
    "document.readyState === 'complete' && typeof core !== 'undefined' && core.cover_div != null"
    " && (typeof WOB_TASK_READY === 'undefined' || !!WOB_TASK_READY)"
)
# One round trip per reset: (re)start the episode, read the instruction, and the element list (ELEMENTS is
# replaced by `elements_js()`). Returns null when the page is not ready for it yet (still loading).
START_JS = """
([seed, maxTimeMs, dataMode, instant]) => {
  if (document.readyState !== 'complete' || typeof core === 'undefined' || core.cover_div == null) return null;
  if (window.jQuery) jQuery.fx.off = instant;
  core.setDataMode(dataMode);
  core.EPISODE_MAX_TIME = maxTimeMs;
  Math.seedrandom(seed);
  core.startEpisodeReal();
  if (core.EPISODE_MAX_TIME !== maxTimeMs) {  // genProblem set its own limit: raise it again
    core.EPISODE_MAX_TIME = maxTimeMs;
    clearTimeout(core.EP_TIMER);
    core.EP_TIMER = setTimeout(() => core.endEpisode(-1, false, 'timed out'), maxTimeMs);
  }
  window.scrollTo(0, 0);
  document.documentElement.scrollLeft = document.body.scrollLeft = 0;
  const u = core.getUtterance();
  const ready = typeof WOB_TASK_READY === 'undefined' || !!WOB_TASK_READY;
  return [typeof u === 'string' ? u : u.utterance, ready, ready ? ELEMENTS : null];
}
"""
# The first episode on a freshly loaded page: wait (up to 3 s) until every image the task shows, as <img> or
# through CSS (`content: url(...)`, background images: email-inbox's icons), is loaded and decoded, so the
# first screenshot of a fresh env is the same as any later one. Later resets find them in the cache.
IMAGES_JS = """
async () => {
  const urls = new Set();
  for (const img of document.images) if (img.src) urls.add(img.src);
  for (const el of document.querySelectorAll('body *')) {
    const cs = getComputedStyle(el);
    for (const v of [cs.content, cs.backgroundImage]) {
      if (v && v.includes('url(')) for (const m of v.matchAll(/url\\("?([^")]+)"?\\)/g)) urls.add(m[1]);
    }
  }
  const load = [...urls].map((u) => { const i = new Image(); i.src = u; return i.decode().catch(() => null); });
  await Promise.race([Promise.all(load), new Promise((r) => setTimeout(r, 3000))]);
  return urls.size;
}
"""
REWARD_JS = "[!!WOB_DONE_GLOBAL, +WOB_RAW_REWARD_GLOBAL || 0, String(WOB_REWARD_REASON || '')]"
MAX_TIMER_S = 2_000_000  # setTimeout's delay is a signed 32-bit count of ms; larger ones fire at once


class MiniWoBEnv(BrowserEnv):
    def __init__(
        self,
        task: str,
        max_steps: int | None = None,
        episode_max_time_s: float = 3600.0,
        data_mode: str = "train",
        instant_effects: bool = True,
        context_per_episode: bool = False,
        **kwargs: Any,
    ) -> None:
        url = task_url(task)
        if not 0 < episode_max_time_s <= MAX_TIMER_S:
            raise ValueError(f"episode_max_time_s: must be in (0, {MAX_TIMER_S}], got {episode_max_time_s}")
        super().__init__(
            url=url,
            width=TASK_WIDTH,
            height=TASK_HEIGHT,
            max_steps=max_steps or MAX_STEPS.get(task, DEFAULT_MAX_STEPS),
            file_roots=[str(html_dir())],
            ready_js=READY_JS,
            context_per_episode=context_per_episode,
            **kwargs,
        )
        self.task = task
        self.check_ready_on_reuse = False  # START_JS checks readiness in the same round trip
        self.episode_max_time_s = episode_max_time_s
        self.data_mode = data_mode
        self.instant_effects = instant_effects
        self._images_loaded_on: object = None  # the page whose images IMAGES_JS waited for
        self.reward_reason = ""  # core.js's reason for the last reward ("timed out", ...), for debugging

    def _init_script(self) -> str:
        return MINIWOB_INIT_JS

    def _start_episode(self, seed: int, options: dict[str, Any]) -> str:
        page = self._live_page()
        args = [seed, int(self.episode_max_time_s * 1000), self.data_mode, self.instant_effects]
        js = START_JS.replace("ELEMENTS", self.elements_js())
        started = self._guard(lambda: page.evaluate(js, args), "starting the episode")
        if started is None:  # the page is still loading (after a crash or a navigation): wait, then start
            self._guard(lambda: self._wait_ready(self.page_timeout_s), "waiting for the task page")
            started = self._guard(lambda: page.evaluate(js, args), "starting the episode")
        utterance, ready, self.read_elements = started
        if not ready:
            self._guard(lambda: self._wait_ready(self.page_timeout_s), "waiting for WOB_TASK_READY")
        if page is not self._images_loaded_on:
            self._guard(lambda: page.evaluate(IMAGES_JS), "loading the task's images")
            self._images_loaded_on = page
            self.read_elements = None  # read again: a loaded image can move what follows it
        self.reward_reason = ""
        return utterance

    def _state_js(self) -> str:
        return REWARD_JS  # read with the settle check after an action: one round trip fewer per step

    def _evaluate(self, action: Action | None) -> tuple[float, bool]:
        state, self.settled_state = self.settled_state, None
        if state is None:
            page = self._live_page()
            state = self._guard(lambda: page.evaluate(REWARD_JS), "reading the reward")
        done, raw, reason = state
        self.reward_reason = reason
        return (raw, True) if done else (0.0, False)

    def expert_action(self) -> str:
        from envs.browser.miniwob.experts import get_expert

        return get_expert(self.task)(self._live_page(), self.instruction)
