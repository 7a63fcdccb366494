"""Security headers on every response of the admin page: pages, errors, redirects, static files, the event stream.

The page needs nothing from elsewhere: scripts and styles come from ``/static``, charts are inline SVG
(their ``<style>`` blocks and the badges' colors are why inline styles are allowed; inline scripts are
not), the diagram is an image of this site, and the live counts come over an ``EventSource`` of this site.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: The Content-Security-Policy every response carries.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ]
)
#: Every header added, with its value.
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # A login link's token must never travel in a Referer, even to this site.
    "Referrer-Policy": "no-referrer",
}
#: Cache-Control of every response but static files: pages show payloads, history and failures, which no
#: browser or proxy cache should keep.
CACHE_CONTROL = "no-store"
#: Where the static files are served (stylesheet, script), the only responses that may be cached.
STATIC_PREFIX = "/static/"


class SecurityHeaders:
    """ASGI middleware that sets ``SECURITY_HEADERS`` on every HTTP response that passes through it, and
    ``Cache-Control: no-store`` on all but static files.

    Args:
        app: The application to wrap.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        static = scope["path"].removeprefix(scope.get("root_path", "")).startswith(STATIC_PREFIX)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
                if not static:
                    headers["Cache-Control"] = CACHE_CONTROL
            await send(message)

        await self.app(scope, receive, send_with_headers)
