"""The machine's diagram with live counts: the SVG, and a server-sent event stream that says when it changed.

The stream polls the database (so it sees moves made by workers in other processes) and sends an
event only when the machine's newest history row, or the stuck counts, changed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from sse_starlette.sse import EventSourceResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from engine.admin import queries
from engine.admin.context import admin_of, flow_named, in_session, render
from engine.diagrams.dot import render_image
from engine.diagrams.graph import build_graph
from engine.errors import DotUnavailableError

#: Seconds between two looks at the database by one open event stream.
POLL_SECONDS = 0.5


def _notes(snapshot: queries.Snapshot) -> dict[str, str]:
    return {
        state: f"{count}" + (f" · {snapshot.stuck[state]} stuck" if snapshot.stuck.get(state) else "")
        for state, count in snapshot.counts.items()
    }


async def diagram_page(request: Request) -> Response:
    flow = flow_named(request, request.path_params["machine"])
    snapshot = await in_session(request, queries.snapshot, flow)
    return render(request, "diagram.html", flow=flow, spec=flow.compiled.spec, snapshot=snapshot)


async def diagram_svg(request: Request) -> Response:
    flow = flow_named(request, request.path_params["machine"])
    snapshot = await in_session(request, queries.snapshot, flow)
    graph = build_graph(flow.compiled.spec)
    try:
        svg = await run_in_threadpool(render_image, graph, "svg", _notes(snapshot))
    except DotUnavailableError as missing:
        return Response(str(missing), status_code=503, media_type="text/plain")
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "no-store"})


async def events(request: Request) -> Response:
    flow = flow_named(request, request.path_params["machine"])
    app = admin_of(request).app

    def look() -> queries.Snapshot:
        with app.sessionmaker() as session:
            return queries.snapshot(session, flow)

    async def stream() -> AsyncIterator[dict[str, str]]:
        last: queries.Snapshot | None = None
        while not await request.is_disconnected():
            current = await run_in_threadpool(look)
            if last is None or (current.version, current.stuck) != (last.version, last.stuck):
                yield {"event": "counts", "data": json.dumps(current.as_json())}
                last = current
            await asyncio.sleep(POLL_SECONDS)

    return EventSourceResponse(stream(), ping=15)
