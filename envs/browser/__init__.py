"""Browser environments: Chromium through Playwright's sync API, MiniWoB++ task pages, and the base that
web-app task families build on.

env.py       BrowserEnv(GUIEnv): context per episode (or a reused page), readiness waits, settle after actions
manager.py   one Chromium per process (per Playwright thread), launched lazily, relaunched after a crash
network.py   egress allow-list: loopback hosts and the task's own files, through context routing
input.py     UI-TARS verbs as real mouse/keyboard events;  keys.py  key names to Playwright chords
dom.py       the element list (one JS evaluate) and the ARIA-tree text
miniwob/     every MiniWoB++ page of the `miniwob` package as `agentrl/miniwob.<task>-v0`, with experts
"""

from envs.browser.env import BrowserEnv, PageNotReady
from envs.browser.manager import BrowserLaunchError, BrowserManager, browser_manager
from envs.browser.network import LOOPBACK_HOSTS, NetworkPolicy

__all__ = [
    "LOOPBACK_HOSTS", "BrowserEnv", "BrowserLaunchError", "BrowserManager", "NetworkPolicy", "PageNotReady",
    "browser_manager",
]  # fmt: skip
