"""A loopback HTTP server whose routes answer the ways that tempt an endpoint to store a secret."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

#: Secrets the server puts in its answers; none may be stored, logged or shown.
SERVER_SECRETS = ("srv-secret-1", "srv-secret-2", "srv-secret-3", "srv-secret-4", "srv-secret-5")
#: Bytes the ``endless`` route offers (far more than any test lets an endpoint read).
ENDLESS_BYTES = 200 * 1024 * 1024
_CHUNK = b"x" * 65_536


@dataclass
class Seen:
    """Requests the server got, in order, and what happened to the ``endless`` answer."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    hits: Counter[str] = field(default_factory=Counter)
    endless_sent: int = 0
    endless_cut: bool = False


def _answers(route: str, query: dict[str, list[str]]) -> tuple[int, dict[str, str], bytes]:
    if route == "ok":
        body = {"receipt": "r-ok", "nested": {"access_token": "srv-secret-1"}, "list": [{"Token": "srv-secret-2"}]}
        return 200, {"Content-Type": "application/json", "Set-Cookie": "sid=srv-secret-3"}, json.dumps(body).encode()
    if route == "fail":
        return 500, {"Content-Type": "application/json"}, b'{"error": "down", "token": "srv-secret-1"}'
    if route == "redirect":
        return 302, {"Location": "/probe/landing?token=srv-secret-4"}, b""
    if route in ("form", "hookfail"):
        return 200, {"Content-Type": "application/x-www-form-urlencoded"}, b"access_token=srv-secret-5&expires_in=60"
    if route == "plain":
        return 200, {"Content-Type": "text/plain"}, b"Token: srv-secret-2\nrefresh_token=srv-secret-3 ok"
    if route == "big":
        size = int(query.get("size", ["100000"])[0])
        items = [{"n": n, "access_token": "srv-secret-1"} for n in range(size // 40)]
        return 200, {"Content-Type": "application/json"}, json.dumps({"items": items}).encode()
    return 200, {"Content-Type": "text/plain"}, b"landed"


def _handler(seen: Seen) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("content-length", 0))
            body = self.rfile.read(length).decode()
            parts = urlsplit(self.path)
            route = parts.path.rstrip("/").rsplit("/", 1)[-1]
            seen.hits[route] += 1
            seen.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
            if route == "endless":
                self._endless()
                return
            status, headers, payload = _answers(route, parse_qs(parts.query))
            self.send_response(status)
            for name, value in {**headers, "Content-Length": str(len(payload))}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def _endless(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(ENDLESS_BYTES))
            self.end_headers()
            try:
                while seen.endless_sent < ENDLESS_BYTES:
                    self.wfile.write(_CHUNK)
                    seen.endless_sent += len(_CHUNK)
            except (BrokenPipeError, ConnectionResetError):
                seen.endless_cut = True

        do_GET = do_POST = _answer  # noqa: N815 - the names http.server calls

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            """Quiet."""

    return Handler


@contextmanager
def serve() -> Iterator[tuple[str, Seen]]:
    """Serve on 127.0.0.1 on a free port; yield the base URL and what was seen."""
    seen = Seen()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(seen))
    server.daemon_threads = False
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
