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
from engine.admin.security import is_logged_in, log_in, token_matches
from engine.statewright import Statewright

STATIC = Path(__file__).resolve().parent / "static"
#: Paths anyone may open: the login form and the stylesheet and script it uses.
PUBLIC = ("/login", "/static/")


async def login(request: Request) -> Response:
    """A token in the form (or once, in the link printed at start-up) opens a session."""
    given = request.query_params.get("token")
    if request.method == "POST":
        given = str((await request.form()).get("token", ""))
    if given is not None:
        if token_matches(given, admin_of(request).token):
            log_in(request)
            return RedirectResponse(str(request.url_for("index").path), status_code=303)
        return render(request, "login.html", status_code=403, error="That token is not right.")
    return render(request, "login.html")


async def database_error(request: Request, exc: Exception) -> Response:
    """A database the page cannot read (missing tables, a server that went away): say so, on a page."""
    orig = getattr(exc, "orig", None) or exc
    return render(request, "error.html", status_code=503, message=f"Cannot read the database: {orig}")


class RequireLogin:
    """Every page but the login form needs a session; a missing one is sent to log in."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            request = Request(scope)
            path = scope["path"].removeprefix(scope.get("root_path", ""))
            if not path.startswith(PUBLIC) and not is_logged_in(request):
                response: Response = RedirectResponse(str(request.url_for("login").path), status_code=303)
                if request.method != "GET":
                    response = PlainTextResponse("log in first", status_code=401)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def build_admin(app: Statewright, *, token: str, secret_key: str | None = None, https_only: bool = False
                ) -> Starlette:
    """The admin page for ``app``.

    Args:
        app: The machines and database to show.
        token: What a user types (or follows in a link) to log in; nothing is reachable without it.
        secret_key: Signs the session cookie (default: random, so sessions end when the process does).
        https_only: Send the session cookie over HTTPS only (set it behind TLS).

    Mount it in your own app with ``your_app.mount("/admin", build_admin(app, token=...))``.
    """
    if not token:
        raise ValueError("the admin page needs a token: without one, anyone could act on your objects")
    routes = [
        Route("/", pages.index, name="index"),
        Route("/login", login, methods=["GET", "POST"], name="login"),
        Route("/m/{machine}", pages.machine_objects, name="objects"),
        Route("/m/{machine}/metrics", pages.metrics_page, name="metrics"),
        Route("/m/{machine}/diagram", live.diagram_page, name="diagram"),
        Route("/m/{machine}/diagram.svg", live.diagram_svg, name="diagram_svg"),
        Route("/m/{machine}/events", live.events, name="events"),
        Route("/m/{machine}/defibrillate", actions.defibrillate_all, methods=["POST"], name="defibrillate_all"),
        Route("/m/{machine}/o/{object_id:path}/fire", actions.fire, methods=["POST"], name="fire"),
        Route("/m/{machine}/o/{object_id:path}/defibrillate", actions.defibrillate, methods=["POST"],
              name="defibrillate"),
        Route("/m/{machine}/o/{object_id:path}", pages.object_page, name="object"),
        Route("/history/{row_id:int}/{action:str}", actions.archive_action, methods=["POST"], name="archive"),
        Route("/failures", failures.failures_page, name="failures"),
        Route("/failures/{failure_id:int}/retry", failures.retry, methods=["POST"], name="retry_failure"),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    middleware = [
        Middleware(SessionMiddleware, secret_key=secret_key or secrets.token_urlsafe(32), same_site="strict",
                   https_only=https_only, session_cookie="statewright_admin"),
        Middleware(RequireLogin),
    ]
    admin = Starlette(routes=routes, middleware=middleware, exception_handlers={SQLAlchemyError: database_error})
    admin.state.admin = AdminContext(app, Jinja2Templates(directory=TEMPLATES), token)
    return admin
