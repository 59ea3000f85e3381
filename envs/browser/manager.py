"""One Chromium per process, launched lazily on first use, reused by every env, closed at exit.

Launching Chromium costs about a second; a BrowserContext costs tens of milliseconds. So every BrowserEnv in
a process shares one browser and isolates episodes with contexts. Playwright's sync API is bound to the
thread that started it (and refuses to run inside an asyncio loop), so the manager is per thread: an env
worker (a Ray actor, or rollout's single env thread) has exactly one thread that touches the browser, so in
practice this is one browser per process.

The system Chromium is used when Playwright's own build is absent (it cannot be downloaded on these
machines). A browser that crashed or was closed is relaunched by the next `browser()` call.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import threading
from pathlib import Path

from playwright.sync_api import Browser, Error, Playwright, sync_playwright

from envs.core.gui_env import EnvFault

# Chromium flags: no sandbox (containers run as root), no GPU, and none of the background traffic or
# update checks a headless worker has no use for.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--disable-smooth-scrolling",  # a wheel event scrolls at once: the next screenshot shows the result
    # A screenshot waits for one compositor frame instead of two: about 16 ms instead of 33 ms at 60 Hz,
    # measured on MiniWoB pages, with no extra CPU on idle or animated pages.
    "--run-all-compositor-stages-before-draw",
)
# $AGENTRL_CHROMIUM_ARGS adds flags. E.g. --disable-frame-rate-limit halves screenshot latency (no wait for
# the next 60 Hz frame) but lets pages with endless animations spin a CPU core: off by default.
SYSTEM_CHROMIUM = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
LAUNCH_TIMEOUT_S = 30.0


class BrowserLaunchError(EnvFault):
    """Chromium could not be started (not installed, or it crashed on start)."""


def chromium_executable() -> str | None:
    """The Chromium to launch: $AGENTRL_CHROMIUM, else None when Playwright's own build is installed (it
    knows where), else the first system Chromium found."""
    if os.environ.get("AGENTRL_CHROMIUM"):
        return os.environ["AGENTRL_CHROMIUM"]
    cache = Path(os.environ.get("PLAYWRIGHT_BROWSERS_PATH") or Path.home() / ".cache" / "ms-playwright")
    if any(cache.glob("chromium-*")):
        return None
    for path in SYSTEM_CHROMIUM:
        if os.access(path, os.X_OK):
            return path
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    raise BrowserLaunchError(
        "no Chromium found: install Debian's chromium (bash scripts/setup.sh) or set AGENTRL_CHROMIUM"
    )


class BrowserManager:
    """Owns this thread's Playwright driver and Chromium. Use `browser_manager()` to get it."""

    def __init__(self) -> None:
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self.launches = 0  # how many times Chromium was started (tests check reuse with it)
        self.thread_id = threading.get_ident()

    def browser(self) -> Browser:
        """The running browser, launching (or relaunching after a crash/close) when needed."""
        if self._browser is not None and self._browser.is_connected():
            return self._browser
        self._shutdown_browser()
        try:
            if self._playwright is None:
                self._playwright = sync_playwright().start()
            self._browser = self._playwright.chromium.launch(
                executable_path=chromium_executable(),
                args=[*CHROMIUM_ARGS, *os.environ.get("AGENTRL_CHROMIUM_ARGS", "").split()],
                headless=True,
                timeout=LAUNCH_TIMEOUT_S * 1000,
            )
        except Error as e:
            raise BrowserLaunchError(f"could not launch Chromium: {e.message.splitlines()[0]}") from e
        self.launches += 1
        return self._browser

    @property
    def running(self) -> bool:
        return self._browser is not None and self._browser.is_connected()

    def _shutdown_browser(self) -> None:
        browser, self._browser = self._browser, None
        if browser is not None:
            with contextlib.suppress(Error):  # already gone
                browser.close()

    def close(self) -> None:
        """Close the browser and the Playwright driver; a later `browser()` starts both again."""
        self._shutdown_browser()
        playwright, self._playwright = self._playwright, None
        if playwright is not None:
            with contextlib.suppress(Error):
                playwright.stop()


_local = threading.local()
_managers: list[BrowserManager] = []


def browser_manager() -> BrowserManager:
    """This thread's manager (created on first use; nothing is launched until `.browser()`)."""
    manager = getattr(_local, "manager", None)
    if manager is None:
        manager = _local.manager = BrowserManager()
        _managers.append(manager)
    return manager


def close_thread_browser() -> None:
    """Close this thread's browser and Playwright driver, if any.

    Playwright's sync API leaves its event loop marked as running on the thread that started it, so
    `asyncio.run` fails on that thread until the driver is stopped: call this before going async.
    """
    manager = getattr(_local, "manager", None)
    if manager is not None:
        manager.close()


@atexit.register
def _close_at_exit() -> None:
    # Only the owning thread may drive Playwright. Managers of other (finished) threads need nothing: the
    # Playwright driver exits when this process does, and takes its Chromium with it.
    for manager in _managers:
        if manager.thread_id == threading.get_ident():
            manager.close()
