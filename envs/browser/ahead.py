"""A Playwright call sent ahead: started now, its reply awaited later, while other calls run meanwhile.

Playwright's sync API waits for every reply. Some calls wait for a rendered frame without needing to: the
pointer move that starts each episode on a reused page is dispatched by Chromium at the next frame (mouse
moves are aligned to animation frames), about 16 ms at 60 Hz, and the first screenshot waits for a frame
of its own. Sent ahead, the move rides along with the episode's start script and that screenshot's frame:
one frame per reset instead of two.

Order is kept: the move is sent before any later call (one connection, messages in order), so Chromium
dispatches it no later than the frame the screenshot captures, and `wait()` returns its result (or raises
its error) before the env acts again. This uses the sync API's event loop (`_loop`, `_sync`), which
Playwright does not document; when those are missing the call simply runs at once (the old cost).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any


class Ahead:
    def __init__(self, api: Any, start: Callable[[Any], Coroutine[Any, Any, Any]]) -> None:
        """`api`: a sync-API object (e.g. `page.mouse`); `start(obj)` makes the call on it, e.g.
        `lambda m: m.move(-1, -1, steps=1)`: on the async implementation behind `api` it gives the coroutine sent
        ahead; on `api` itself (the fallback) it runs the call at once."""
        self._api = api
        loop, impl = getattr(api, "_loop", None), getattr(api, "_impl_obj", None)
        if loop is None or impl is None or not hasattr(api, "_sync"):  # not the sync API we know: no overlap
            self._task, self._result = None, start(api)
            return
        self._task, self._result = loop.create_task(start(impl)), None

    def wait(self) -> Any:
        """The call's result, once its reply is in (raises the call's error)."""
        if self._task is None:
            return self._result
        task, self._task = self._task, None
        if not task.done():

            async def reply() -> Any:
                return await task

            self._result = self._api._sync(reply())
        else:
            self._result = task.result()
        return self._result
