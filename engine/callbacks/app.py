"""The ASGI app that receives callbacks: ``POST /callbacks/{machine}/{route}/{key}``.

Each delivery is read up to its callback's ``max_body`` (413 past it), its signature verified (401) before
any database access, then applied by ``Receiver`` in a worker thread, as many at once as the database pool
keeps connections; the answer is sent after the commit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio.to_thread
from anyio import CapacityLimiter
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from engine.callbacks.receiving import InboundRequest, Receiver
from engine.callbacks.verification import Check, SignatureRefused, build_check
from engine.spec.model import CallbackSpec

if TYPE_CHECKING:
    from collections.abc import Mapping

    from engine.statewright import Statewright

#: The URL every callback answers on.
CALLBACK_PATH = "/callbacks/{machine}/{route}/{key}"


class _TooLarge(Exception):
    """Not an error: the body passed the callback's ``max_body``."""


def build_callbacks_app(app: Statewright, *, environ: Mapping[str, str] | None = None) -> Starlette:
    """The Starlette app receiving every callback the app's machines declare.

    Args:
        app: The Statewright app.
        environ: Where signing secrets are read; the process environment by default.

    Returns:
        An ASGI app; mount it in FastAPI or Starlette, or serve it with ``statewright serve``.

    Raises:
        ConfigurationError: A secret's environment variable is not set, or a ``handle`` or verifier does not import.
    """
    routes: dict[tuple[str, str], tuple[CallbackSpec, Check]] = {
        (machine, callback.route): (callback, build_check(callback, environ=environ))
        for machine, compiled in app.machines.items()
        for callback in compiled.spec.callbacks.values()
    }
    receiver = Receiver(app)
    limiter: list[CapacityLimiter] = []  # made in the event loop, on the first delivery

    async def deliver(request: Request) -> JSONResponse:
        machine, route, key = (request.path_params[name] for name in ("machine", "route", "key"))
        found = routes.get((machine, route))
        if found is None:
            return _answer(404, f"no callback {route!r} on machine {machine!r}")
        callback, check = found
        try:
            body = await _read_capped(request, callback.max_body)
        except _TooLarge:
            return _answer(413, f"the body is larger than {callback.max_body} bytes")
        headers = dict(request.headers)  # Starlette's names are lower-case already
        try:
            check.verify(headers, body)
        except SignatureRefused as refused:
            return _answer(401, f"signature refused: {refused.reason}")
        inbound = InboundRequest(request.method, request.url.path, headers, body)
        if not limiter:
            limiter.append(CapacityLimiter(_pooled_connections(app.engine)))
        result = await anyio.to_thread.run_sync(receiver.receive, machine, callback, key, inbound, limiter=limiter[0])
        return _answer(result.outcome.status, result.outcome.value, state=result.state)

    return Starlette(routes=[Route(CALLBACK_PATH, deliver, methods=["POST"])])


def _pooled_connections(engine: Engine) -> int:
    """How many deliveries touch the database at once: as many as the pool keeps open.

    More would each open an overflow connection and close it again afterwards (a new PostgreSQL connection
    costs more than the delivery): the others wait their turn in the event loop instead.
    """
    size = getattr(engine.pool, "size", None)
    return max(1, size()) if callable(size) else DEFAULT_THREADS


#: Deliveries at once when the pool does not say how many connections it keeps (Starlette's default threads).
DEFAULT_THREADS = 40


async def _read_capped(request: Request, limit: int) -> bytes:
    """The body, refusing by its declared length first and then by what actually arrives."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _TooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _answer(status: int, message: str, *, state: str | None = None) -> JSONResponse:
    content: dict[str, str] = {"result" if status < 400 else "error": message}
    if state is not None and status == 409:
        content["state"] = state
    return JSONResponse(content, status_code=status)
