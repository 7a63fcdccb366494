"""Who may use the admin page: a token to log in, a session cookie after, a CSRF token on every action.

The token is compared in constant time. Every state-changing request is a POST carrying the session's
CSRF token (synchronizer-token pattern); the session cookie is ``SameSite=Strict`` besides.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets

from starlette.requests import Request

#: Session keys.
AUTHENTICATED = "statewright.admin"
CSRF = "statewright.csrf"
FLASH = "statewright.flash"


def is_loopback(host: str) -> bool:
    """Whether binding to ``host`` keeps the page on this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def new_token() -> str:
    """A token for a loopback session started without one (printed with the login link)."""
    return secrets.token_urlsafe(24)


def token_matches(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def log_in(request: Request) -> None:
    request.session[AUTHENTICATED] = True
    request.session[CSRF] = secrets.token_urlsafe(32)


def is_logged_in(request: Request) -> bool:
    return bool(request.session.get(AUTHENTICATED))


def csrf_token(request: Request) -> str:
    token: str = request.session.get(CSRF, "")
    return token


def csrf_ok(request: Request, given: object) -> bool:
    expected = csrf_token(request)
    return bool(expected) and isinstance(given, str) and hmac.compare_digest(given.encode(), expected.encode())


def flash(request: Request, message: str, kind: str = "info") -> None:
    """A message shown once on the next page."""
    request.session.setdefault(FLASH, []).append([kind, message])


def take_flashes(request: Request) -> list[list[str]]:
    messages: list[list[str]] = request.session.pop(FLASH, [])
    return messages
