"""``build_admin``: the admin page as a Starlette app, to serve alone or mount in yours."""

from __future__ import annotations

import secrets
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Receive, Scope, Send

from engine.admin import actions, failures, live, pages
from engine.admin.context import TEMPLATES, AdminContext, admin_of, render
from engine.admin.headers import SecurityHeaders
from engine.admin.security import csrf_ok, is_logged_in, log_in, log_out, token_matches, token_problem
from engine.errors import ConfigurationError
from engine.statewright import Statewright

STATIC = Path(__file__).resolve().parent / "static"
#: Paths anyone may open: the login form and the stylesheet and script it uses.
PUBLIC = ("/login", "/static/")


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _try_token(request: Request, given: str, success: str) -> Response:
    """Log in with ``given`` and go to ``success``; wrong tokens count against the client's address."""
    admin, client = admin_of(request), _client(request)
    wait = admin.throttle.wait(client)
    if wait:
        return PlainTextResponse(
            f"Too many wrong tokens from {client}; try again in {wait} s.",
            status_code=429,
            headers={"Retry-After": str(wait)},
        )
    if not token_matches(given, admin.token):
        admin.throttle.failed(client)
        return render(request, "login.html", status_code=403, error="That token is not right.")
    admin.throttle.succeeded(client)
    log_in(request, admin.sessions)
    return RedirectResponse(success, status_code=303)


def _without_token(request: Request) -> str:
    """The requested path and query, minus the token, so it stays out of the address bar and history.

    Leading slashes collapse to one: ``//evil.example/`` would be a link to another site. (Starlette
    already sends backslashes, which browsers read as slashes, as ``%5C``.)
    """
    url = request.url.remove_query_params("token")
    root: str = request.scope.get("root_path", "")
    path = "/" + url.path.removeprefix(root).lstrip("/")
    if path == "/login":
        return str(request.url_for("index").path)
    return root.rstrip("/") + path + (f"?{url.query}" if url.query else "")


async def login(request: Request) -> Response:
    """The login form; a POST with the token opens a session (a ``?token=`` link is handled by ``RequireLogin``)."""
    if request.method == "POST":
        given = str((await request.form()).get("token", ""))
        return _try_token(request, given, str(request.url_for("index").path))
    return render(request, "login.html")


async def logout(request: Request) -> Response:
    """End the session (a POST with the CSRF token, so no other site can log you out)."""
    if not csrf_ok(request, (await request.form()).get("csrf")):
        return PlainTextResponse("missing or wrong CSRF token: reload the page and try again", status_code=403)
    log_out(request, admin_of(request).sessions)
    return RedirectResponse(str(request.url_for("login").path), status_code=303)


async def database_error(request: Request, exc: Exception) -> Response:
    """A database the page cannot read (missing tables, a server that went away): say so, on a page."""
    orig = getattr(exc, "orig", None) or exc
    return render(request, "error.html", status_code=503, message=f"Cannot read the database: {orig}")


class RequireLogin:
    """Every page but the login form needs a session; a missing one is sent to log in.

    A link carrying ``?token=`` (the one ``statewright admin`` prints) logs in on any page and then
    redirects to the same page without the token.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            request = Request(scope)
            path = scope["path"].removeprefix(scope.get("root_path", ""))
            response: Response | None = None
            if request.method == "GET" and "token" in request.query_params:
                response = _try_token(request, request.query_params["token"], _without_token(request))
            elif not path.startswith(PUBLIC) and not is_logged_in(request, admin_of(request).sessions):
                response = RedirectResponse(str(request.url_for("login").path), status_code=303)
                if request.method != "GET":
                    response = PlainTextResponse("log in first", status_code=401)
            if response is not None:
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class AdminApp(Starlette):
    """The admin's Starlette app: security headers on everything, including the 500 page Starlette draws."""

    def build_middleware_stack(self) -> ASGIApp:
        return SecurityHeaders(super().build_middleware_stack())


def build_admin(app: Statewright, *, token: str, secret_key: str | None = None, https_only: bool = False) -> Starlette:
    """The admin page for ``app``.

    Args:
        app: The machines and database to show.
        token: What a user types (or follows in a link) to log in; nothing is reachable without it.
        secret_key: Signs the session cookie (default: random, so sessions end when the process does).
        https_only: Send the session cookie over HTTPS only (set it behind TLS).

    Mount it in your own app with ``your_app.mount("/admin", build_admin(app, token=...))``.

    Raises:
        ConfigurationError: The token is empty or shorter than ``MIN_TOKEN_LENGTH`` (16) characters.
    """
    problem = token_problem(token)
    if problem is not None:
        raise ConfigurationError(problem)
    routes = [
        Route("/", pages.index, name="index"),
        Route("/login", login, methods=["GET", "POST"], name="login"),
        Route("/logout", logout, methods=["POST"], name="logout"),
        Route("/m/{machine}", pages.machine_objects, name="objects"),
        Route("/m/{machine}/metrics", pages.metrics_page, name="metrics"),
        Route("/m/{machine}/diagram", live.diagram_page, name="diagram"),
        Route("/m/{machine}/diagram.svg", live.diagram_svg, name="diagram_svg"),
        Route("/m/{machine}/events", live.events, name="events"),
        Route("/m/{machine}/defibrillate", actions.defibrillate_all, methods=["POST"], name="defibrillate_all"),
        Route("/m/{machine}/o/{object_id:path}/fire", actions.fire, methods=["POST"], name="fire"),
        Route(
            "/m/{machine}/o/{object_id:path}/defibrillate", actions.defibrillate, methods=["POST"], name="defibrillate"
        ),
        Route("/m/{machine}/o/{object_id:path}/touch", actions.touch, methods=["POST"], name="touch"),
        Route("/m/{machine}/o/{object_id:path}", pages.object_page, name="object"),
        Route("/history/{row_id}/{action}", actions.archive_action, methods=["POST"], name="archive"),
        Route("/failures", failures.failures_page, name="failures"),
        Route("/failures/{failure_id}/retry", failures.retry, methods=["POST"], name="retry_failure"),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    middleware = [
        Middleware(
            SessionMiddleware,
            secret_key=secret_key or secrets.token_urlsafe(32),
            same_site="strict",
            https_only=https_only,
            session_cookie="statewright_admin",
        ),
        Middleware(RequireLogin),
    ]
    admin = AdminApp(routes=routes, middleware=middleware, exception_handlers={SQLAlchemyError: database_error})
    admin.state.admin = AdminContext(app, Jinja2Templates(directory=TEMPLATES), token)
    return admin
