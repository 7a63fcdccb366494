"""The admin page against hostile visitors: security headers everywhere, throttled guessing, strong tokens,
logout, and login links that do not leave the token behind."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response

from engine import ConfigurationError
from engine.admin import build_admin
from engine.admin.headers import SECURITY_HEADERS
from engine.admin.throttle import MAX_FAILED_LOGINS
from tests.admin.conftest import TOKEN, Served, run_server

#: What every response must carry, whatever it is.
EXPECTED = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


@contextmanager
def _logged_in(served: Served) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served.url, follow_redirects=False) as client:
        assert client.post("/login", data={"token": TOKEN}).status_code == 303
        yield client


def _csrf(page: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match is not None
    return match.group(1)


def _assert_hardened(response: httpx.Response) -> None:
    for name, value in EXPECTED.items():
        assert response.headers.get(name) == value, (response.request.url, name)
    policy = response.headers.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in policy
    assert "script-src 'self'" in policy
    assert "default-src 'none'" in policy


def test_every_kind_of_response_carries_the_security_headers(served: Served) -> None:
    with httpx.Client(base_url=served.url) as anonymous:
        responses = [
            anonymous.get("/"),  # redirect to log in
            anonymous.get("/login"),  # the form
            anonymous.post("/m/document/o/1/fire"),  # 401
            anonymous.post("/login", data={"token": "wrong-but-long-enough"}),  # 403
            anonymous.get("/static/admin.css"),  # a static file
        ]
    with _logged_in(served) as client:
        responses += [
            client.get("/"),
            client.get("/m/document"),
            client.get("/m/document", params={"status": "nope"}),  # 400
            client.get("/m/nothing"),  # 404
            client.get("/m/document/metrics"),
            client.get("/m/document/diagram.svg"),
            client.post(f"/m/document/o/{served.ids['queued']}/fire", data={"csrf": "forged"}),  # 403
            client.post(
                f"/m/document/o/{served.ids['queued']}/fire",
                data={"csrf": _csrf(client.get("/").text), "transition": "start"},
            ),  # redirect
        ]
        with client.stream("GET", "/m/document/events") as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            responses.append(stream)
    for response in responses:
        _assert_hardened(response)
    assert set(SECURITY_HEADERS) >= {"Content-Security-Policy", "X-Frame-Options"}


def test_a_server_error_page_carries_the_security_headers_too(served: Served) -> None:
    """Starlette draws the 500 page outside the app's own middleware; the headers are still there."""
    admin = build_admin(served.app, token=TOKEN)

    async def broken(request: Request) -> Response:
        raise RuntimeError("a bug")

    admin.add_route("/login/broken", broken)  # public, so no login is needed to reach it
    with run_server(admin) as url, httpx.Client(base_url=url) as client:
        response = client.get("/login/broken")
    assert response.status_code == 500
    _assert_hardened(response)


def test_wrong_tokens_are_throttled_per_address_with_retry_after(served: Served) -> None:
    with httpx.Client(base_url=served.url) as client:
        for _ in range(MAX_FAILED_LOGINS):
            assert client.post("/login", data={"token": "x" * 20}).status_code == 403
        refused = client.post("/login", data={"token": TOKEN})
        assert refused.status_code == 429, "even the right token waits: guessing must not be able to probe"
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        _assert_hardened(refused)
        assert client.get("/login", params={"token": "y" * 20}).status_code == 429, "login links count too"


def test_logging_out_ends_the_session(served: Served) -> None:
    with _logged_in(served) as client:
        page = client.get("/m/document")
        assert page.status_code == 200
        assert 'name="logout"' in page.text
        assert client.post("/logout", data={"csrf": "forged"}).status_code == 403
        assert client.get("/m/document").status_code == 200, "a forged logout changes nothing"
        cookie = client.cookies.get("statewright_admin")
        assert cookie
        done = client.post("/logout", data={"csrf": _csrf(page.text)})
        assert done.status_code == 303
        assert done.headers["location"].endswith("/login")
        assert client.get("/m/document").status_code == 303, "logged out"
    with httpx.Client(base_url=served.url, cookies={"statewright_admin": cookie}) as replay:
        assert replay.get("/m/document").status_code == 303, "a copy of the old cookie is worth nothing now"


def test_a_login_link_redirects_to_the_same_page_without_the_token(served: Served) -> None:
    with httpx.Client(base_url=served.url) as client:
        landed = client.get("/m/document", params={"status": "error", "token": TOKEN})
        assert landed.status_code == 303
        assert landed.headers["location"] == "/m/document?status=error"
        assert client.get(landed.headers["location"]).status_code == 200
    with httpx.Client(base_url=served.url) as client:
        landed = client.get("/login", params={"token": TOKEN})
        assert (landed.status_code, landed.headers["location"]) == (303, "/")
        wrong = client.get("/m/document", params={"token": "z" * 20})
        assert wrong.status_code == 403
        assert "That token is not right." in wrong.text


@pytest.mark.parametrize("token", ["", "short", "fifteen-chars-x"])
def test_build_admin_refuses_an_empty_or_short_token(served: Served, token: str) -> None:
    with pytest.raises(ConfigurationError, match="admin token is"):
        build_admin(served.app, token=token)


@pytest.mark.parametrize(
    ("path", "stays"),
    [
        ("//evil.example/", "/evil.example/"),
        ("/%2F%2Fevil.example", "/evil.example"),
        ("///evil.example", "/evil.example"),
        ("/%5C%5Cevil.example", "/%5C%5Cevil.example"),  # backslashes stay encoded, so browsers see no host
        ("/%5C/evil.example", "/%5C/evil.example"),
    ],
)
def test_a_login_link_never_redirects_to_another_site(served: Served, path: str, stays: str) -> None:
    with httpx.Client() as client:
        landed = client.get(httpx.URL(f"{served.url}{path}?token={TOKEN}"))
    assert landed.status_code == 303
    location = landed.headers["location"]
    assert location == stays
    assert httpx.URL(served.url).join(location).host == "127.0.0.1"


def test_pages_with_payloads_history_or_failures_are_never_stored(served: Served) -> None:
    with _logged_in(served) as client:
        pages = [
            client.get(f"/m/document/o/{served.ids['failed']}"),
            client.get("/m/document"),
            client.get("/failures"),
            client.get("/"),
            client.get("/m/document/metrics"),
            client.get("/m/document/o/999999"),
        ]
    for page in pages:
        assert page.headers.get("cache-control") == "no-store", (page.request.url, page.status_code)
    assert "the service said no" in pages[0].text


def test_the_login_page_shows_no_machine_names(served: Served) -> None:
    with httpx.Client(base_url=served.url) as client:
        pages = [client.get("/login"), client.post("/login", data={"token": "w" * 20})]
    for page in pages:
        assert page.status_code in (200, 403)
        assert "/m/document" not in page.text
        assert "/failures" not in page.text
        assert "Log in" in page.text
