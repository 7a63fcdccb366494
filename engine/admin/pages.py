"""The admin page's GET views: machines, object lists, object history, metrics, the live diagram."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from engine.admin import charts, queries
from engine.admin.context import admin_of, flow_named, in_session, render
from engine.admin.numbers import page_number
from engine.errors import UnknownStatusError
from engine.redaction import Redactor
from engine.runtime.flow import Flow
from engine.statuses import UnknownStatus


async def index(request: Request) -> Response:
    app = admin_of(request).app

    def read(session: Session) -> list[tuple[str, queries.Snapshot]]:
        return [(name, queries.snapshot(session, flow)) for name, flow in app.flows.items()]

    return render(request, "index.html", overview=await in_session(request, read))


def _state_filter(flow: Flow, request: Request) -> str | None:
    state = request.query_params.get("status") or None
    if state is not None and state not in flow.compiled.spec.states and state != queries.UNKNOWN:
        raise HTTPException(400, f"{flow.machine} has no state {state!r}")
    return state


async def machine_objects(request: Request) -> Response:
    flow = flow_named(request, request.path_params["machine"])
    state = _state_filter(flow, request)
    search = request.query_params.get("q", "").strip() or None
    page = page_number(request.query_params.get("page"), queries.PAGE_SIZE)

    def read(session: Session) -> tuple[list[Any], int, queries.Snapshot]:
        objects, total = queries.list_objects(session, flow, state=state, search=search, page=page)
        rows = [(flow.object_id(obj), queries.state_label(flow, obj)) for obj in objects]
        return rows, total, queries.snapshot(session, flow)

    rows, total, counts = await in_session(request, read)
    restartable = [name for name, spec in flow.compiled.spec.states.items() if spec.defibrillate]
    return render(
        request,
        "objects.html",
        flow=flow,
        spec=flow.compiled.spec,
        rows=rows,
        total=total,
        page=page,
        pages=max(1, -(-total // queries.PAGE_SIZE)),
        state=state,
        search=search or "",
        snapshot=counts,
        restartable=restartable,
        unknown=counts.unknown(flow.compiled.spec.states),
        unknown_filter=queries.UNKNOWN,
    )


async def object_page(request: Request) -> Response:
    flow = flow_named(request, request.path_params["machine"])
    object_id = request.path_params["object_id"]

    def read(session: Session) -> dict[str, Any] | None:
        obj = queries.find_object(session, flow, object_id)
        if obj is None:
            return None
        history = list(reversed(obj.history()))
        try:
            state = flow.state_of(obj)
        except UnknownStatusError as unknown:  # shown with its history, and nothing to fire
            return {
                "state": str(UnknownStatus(unknown.value)),
                "history": history,
                "transitions": [],
                "defibrillate": None,
                "touchable": False,
                "problem": str(unknown),
            }
        return {
            "state": state,
            "history": history,
            "transitions": flow.available(obj),
            "defibrillate": flow.compiled.spec.states[state].defibrillate,
            "touchable": flow.compiled.spec.states[state].touchable,
            "problem": None,
        }

    found = await in_session(request, read)
    if found is None:
        raise HTTPException(404, f"{flow.machine} has no object {object_id!r}")
    redactor = admin_of(request).app.redactor
    return render(
        request,
        "object.html",
        flow=flow,
        spec=flow.compiled.spec,
        object_id=object_id,
        pretty=lambda value: shown_json(value, redactor),
        masked=lambda text: shown_text(text, redactor),
        **found,
    )


#: Characters of one payload, context or traceback the object page shows; the rest stays in the database.
MAX_SHOWN_CHARACTERS = 100_000


def shown_json(value: Any, redactor: Redactor) -> str:
    """A payload or context as indented JSON, masked again (rows stored before masking existed) and cut."""
    return _cut(json.dumps(redactor.value(value), indent=2, ensure_ascii=False, sort_keys=True, default=str))


def shown_text(text: str | None, redactor: Redactor) -> str:
    """An exception message or traceback, masked again and cut."""
    return _cut(redactor.text(text or ""))


def _cut(text: str) -> str:
    if len(text) <= MAX_SHOWN_CHARACTERS:
        return text
    return f"{text[:MAX_SHOWN_CHARACTERS]}\n… {len(text) - MAX_SHOWN_CHARACTERS:,} more characters not shown"


async def metrics_page(request: Request) -> Response:
    flow = flow_named(request, request.path_params["machine"])
    found = await in_session(request, queries.metrics, flow)
    colors = {name: state.color for name, state in flow.compiled.spec.states.items()}
    return render(
        request,
        "metrics.html",
        flow=flow,
        spec=flow.compiled.spec,
        metrics=found,
        trend=charts.trend_chart(found.per_day, f"{flow.machine}: new objects per day"),
        partition=charts.partition_chart(found.by_status, colors, f"{flow.machine} by status"),
    )
