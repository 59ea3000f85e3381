"""Network egress control: a context reaches only allow-listed hosts and the task's own files.

Every request of a BrowserContext (file:// included) goes through `NetworkPolicy.route`; anything not
allowed is aborted with "blockedbyclient", so a page cannot leak data or fetch the internet, and a task's
outcome never depends on what a remote server answered. WebSockets get the same check; service workers are
blocked at context creation (they would bypass routing). data:, blob: and about: URLs never reach the
network and are not routed by Chromium.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from playwright.sync_api import BrowserContext, Error, Route, WebSocketRoute

LOOPBACK_HOSTS: tuple[str, ...] = ("127.0.0.1", "localhost", "::1")


@dataclass
class NetworkPolicy:
    """Which URLs a context may load.

    allow_hosts: host names (exact, or "*.example.org" for subdomains) reachable over http(s)/ws(s).
    file_roots: directories whose files may be loaded over file:// (the task's own pages and assets).
    """

    allow_hosts: Sequence[str] = LOOPBACK_HOSTS
    file_roots: Sequence[str] = ()
    blocked: list[str] = field(default_factory=list)  # URLs refused so far (newest last, capped)

    def allows(self, url: str) -> bool:
        parts = urlsplit(url)
        if parts.scheme in ("data", "blob", "about"):
            return True
        if parts.scheme == "file":
            path = os.path.realpath(unquote(parts.path))
            return any(path == r or path.startswith(r.rstrip("/") + "/") for r in self._roots())
        if parts.scheme in ("http", "https", "ws", "wss"):
            host = (parts.hostname or "").lower()
            return any(_host_matches(host, h.lower()) for h in self.allow_hosts)
        return False

    def _roots(self) -> list[str]:
        return [os.path.realpath(r) for r in self.file_roots]

    def install(self, context: BrowserContext) -> None:
        """Route every request and WebSocket of `context` through this policy."""
        context.route("**/*", self._route)
        context.route_web_socket(lambda url: not self.allows(url), self._refuse_ws)

    def _route(self, route: Route) -> None:
        url = route.request.url
        try:
            if self.allows(url):
                route.fallback()
            else:
                self._note(url)
                route.abort("blockedbyclient")
        except Error:
            pass  # the page or context closed while the request was in flight

    def _refuse_ws(self, ws: WebSocketRoute) -> None:
        self._note(ws.url)
        ws.close(code=1008, reason="blocked by agentrl network policy")

    def _note(self, url: str) -> None:
        self.blocked.append(url)
        del self.blocked[:-100]


def _host_matches(host: str, pattern: str) -> bool:
    if pattern.startswith("*."):
        return host == pattern[2:] or host.endswith(pattern[1:])
    return host == pattern.strip("[]")
