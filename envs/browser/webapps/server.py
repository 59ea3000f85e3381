"""AppServer: one web app served on a free loopback port by a stdlib ThreadingHTTPServer in a daemon thread.

    server = AppServer(app)          # listening at server.url (http://127.0.0.1:<port>/)
    server.stop()                    # the port is closed when this returns

Every request runs under the app's lock, so the env reads the app's state between requests, never during
one. Forms post `application/x-www-form-urlencoded`; an app answers a POST with a 303 redirect (the
post/redirect/get pattern), so a page reload never posts twice.
"""

from __future__ import annotations

import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from envs.browser.webapps.base import App, Response

POLL_INTERVAL_S = 0.05  # how often serve_forever looks for shutdown(): stop() waits at most this long
IDLE_CONNECTION_TIMEOUT_S = 5.0  # a connection the browser opened but never used is closed after this


def _handler(app: App) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        timeout = IDLE_CONNECTION_TIMEOUT_S

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            self._send(app.handle("GET", url.path, _form(url.query)))

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("utf-8", "replace")
            self._send(app.handle("POST", urlsplit(self.path).path, _form(body)))

        def _send(self, r: Response) -> None:
            data = r.body.encode()
            self.send_response(r.status)
            if r.location is not None:
                self.send_header("Location", r.location)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:  # quiet: the env reports what matters
            return None

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A page closed mid-response (the env closed its context) drops the connection: nothing to report.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


def _form(query: str) -> dict[str, str]:
    """A form or query string as {name: last value}; empty values are kept (a cleared field is data)."""
    return {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}


class AppServer:
    def __init__(self, app: App) -> None:
        self.server = _Server(("127.0.0.1", 0), _handler(app))
        self.port = int(self.server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": POLL_INTERVAL_S}, daemon=True,
            name=f"webapp-{app.name}-{self.port}",
        )  # fmt: skip
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the listening socket (idempotent)."""
        if self._thread.is_alive():
            self.server.shutdown()
            self._thread.join(timeout=5.0)
        self.server.server_close()
