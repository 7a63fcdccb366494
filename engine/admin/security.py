"""Who may use the admin page: a token to log in, a session cookie after, a CSRF token on every action.

The token is at least ``MIN_TOKEN_LENGTH`` characters and compared in constant time. Every
state-changing request is a POST carrying the session's CSRF token (synchronizer-token pattern); the
session cookie is ``SameSite=Strict`` besides, and names a session the server still holds (``LiveSessions``),
so logging out ends it even for a copied cookie.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from collections import OrderedDict

from starlette.requests import Request

#: Shortest login token accepted, in characters.
MIN_TOKEN_LENGTH = 16
#: How to make a good token, for messages.
TOKEN_HINT = "python -c 'import secrets; print(secrets.token_urlsafe(24))'"
#: Sessions logged in at once, at most; beyond it the oldest ends.
MAX_LIVE_SESSIONS = 10_000
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


def token_problem(token: str) -> str | None:
    """What is wrong with ``token`` as a login token (empty, too short), or ``None`` if it will do."""
    if not token:
        return (
            f"the admin token is empty: without a token anyone could act on your objects. Give one of at least "
            f"{MIN_TOKEN_LENGTH} random characters, e.g. from `{TOKEN_HINT}`."
        )
    if len(token) < MIN_TOKEN_LENGTH:
        return (
            f"the admin token is {len(token)} characters long; use at least {MIN_TOKEN_LENGTH} (a short token "
            f"can be guessed), e.g. from `{TOKEN_HINT}`."
        )
    return None


def token_matches(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


class LiveSessions:
    """The sessions logged in and not logged out, kept on the server.

    The session cookie is signed but held by the browser; a copy taken before logging out would still
    be valid. So the cookie carries a random session id, and only ids in this set count.
    """

    def __init__(self) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()

    def open(self) -> str:
        """A new session id, live from now on (the oldest is forgotten beyond ``MAX_LIVE_SESSIONS``)."""
        session_id = secrets.token_urlsafe(32)
        self._ids[session_id] = None
        while len(self._ids) > MAX_LIVE_SESSIONS:
            self._ids.popitem(last=False)
        return session_id

    def close(self, session_id: object) -> None:
        if isinstance(session_id, str):
            self._ids.pop(session_id, None)

    def __contains__(self, session_id: object) -> bool:
        return isinstance(session_id, str) and session_id in self._ids


def log_in(request: Request, sessions: LiveSessions) -> None:
    request.session.clear()
    request.session[AUTHENTICATED] = sessions.open()
    request.session[CSRF] = secrets.token_urlsafe(32)


def log_out(request: Request, sessions: LiveSessions) -> None:
    """End the session on the server and clear the cookie with the response."""
    sessions.close(request.session.get(AUTHENTICATED))
    request.session.clear()


def is_logged_in(request: Request, sessions: LiveSessions) -> bool:
    return request.session.get(AUTHENTICATED) in sessions


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
