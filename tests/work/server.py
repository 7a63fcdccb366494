"""A real HTTP server on loopback for endpoint tests; each path answers in its own way."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    """Requests the server got, in order."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    hits: Counter[str] = field(default_factory=Counter)


#: Bytes the ``drip`` path sends, one every 0.1 s (30 s in all, unless the client goes away).
DRIP_BYTES = 300


def _handler(received: Received) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
            length = int(self.headers.get("content-length", 0))
            body = json.loads(self.rfile.read(length) or b"null")
            path = self.path.split("?")[0].rsplit("/", 1)[-1]
            received.hits[path] += 1
            received.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
            if path == "slow":
                time.sleep(1.5)
            if path == "drip":
                self._drip()
                return
            status = {"bad": 400, "fail": 500}.get(path, 200)
            if path == "flaky" and received.hits[path] == 1:
                status = 503
            payload = json.dumps({"receipt": f"r-{path}", "secret": "server-secret"}).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout test)

        def _drip(self) -> None:
            """Answer 200 with a body sent a byte every 0.1 s: no read waits long, so no HTTP timeout trips."""
            try:
                self.send_response(200)
                self.send_header("Content-Length", str(DRIP_BYTES))
                self.end_headers()
                for _ in range(DRIP_BYTES):
                    self.wfile.write(b".")
                    self.wfile.flush()
                    time.sleep(0.1)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client stopped reading (its time limit)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            """Quiet."""

    return Handler


@contextmanager
def serve() -> Iterator[tuple[str, Received]]:
    """Serve on 127.0.0.1 on a free port; yield the base URL and what was received."""
    received = Received()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(received))
    # Handler threads are joined on close, so a slow answer cannot outlive the test that asked for it.
    server.daemon_threads = False
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
