"""What every admin view shares: the app, the templates, and small helpers for rendering and lookups."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from engine.admin.security import LiveSessions, csrf_token, is_logged_in, take_flashes
from engine.admin.throttle import LoginThrottle
from engine.runtime.flow import Flow
from engine.statewright import Statewright

TEMPLATES = Path(__file__).resolve().parent / "templates"
T = TypeVar("T")


@dataclass
class AdminContext:
    """Held in ``request.app.state.admin``."""

    app: Statewright
    templates: Jinja2Templates
    token: str
    throttle: LoginThrottle = field(default_factory=LoginThrottle)
    sessions: LiveSessions = field(default_factory=LiveSessions)


def admin_of(request: Request) -> AdminContext:
    context: AdminContext = request.app.state.admin
    return context


def flow_named(request: Request, machine: str) -> Flow:
    """The machine's flow, or 404."""
    flow = admin_of(request).app.flows.get(machine)
    if flow is None:
        raise HTTPException(404, f"no machine {machine!r}")
    return flow


def render(request: Request, template: str, status_code: int = 200, **values: Any) -> Response:
    """A page, with what the layout needs: machines for the menu, the CSRF token, flashed messages."""
    admin = admin_of(request)
    return admin.templates.TemplateResponse(
        request,
        template,
        {
            "machines": list(admin.app.flows),
            "csrf": csrf_token(request),
            "flashes": take_flashes(request),
            "logged_in": is_logged_in(request, admin.sessions),
            **values,
        },
        status_code=status_code,
    )


async def in_session(request: Request, work: Callable[..., T], *args: Any) -> T:
    """Run ``work(session, *args)`` in a worker thread with a session of the app: databases block."""
    app = admin_of(request).app

    def run() -> T:
        with app.sessionmaker() as session:
            return work(session, *args)

    return await run_in_threadpool(run)
