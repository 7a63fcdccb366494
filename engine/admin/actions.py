"""The admin page's POST actions. Each checks the CSRF token, does one thing, flashes what happened,
and redirects back (post/redirect/get)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from engine.admin import numbers, queries
from engine.admin.context import admin_of, flow_named, in_session
from engine.admin.security import csrf_ok, flash
from engine.errors import ArchiveError, ConcurrencyError, TransitionError, UnknownStatusError
from engine.runtime.flow import Flow

#: Who the history says made a change from the admin page.
ACTOR = "admin"
#: What can be done to one history row's payload.
ARCHIVE_ACTIONS = ("compress", "restore", "purge")


async def _form(request: Request) -> dict[str, Any]:
    form = dict(await request.form())
    if not csrf_ok(request, form.get("csrf")):
        raise HTTPException(403, "missing or wrong CSRF token: reload the page and try again")
    return form


def _back(request: Request, form: dict[str, Any], fallback: str) -> RedirectResponse:
    """Back to the page the form was on; only a path of this site, never another host."""
    target = str(form.get("next") or fallback)
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/"):
        target = fallback
    return RedirectResponse(target, status_code=303)


async def _run(request: Request, work: Callable[..., str], *args: Any) -> None:
    """Do one action and flash its outcome; refusals the user can act on are messages, not errors."""
    try:
        flash(request, await in_session(request, work, *args))
    except (TransitionError, ConcurrencyError, ArchiveError) as refused:
        flash(request, str(refused), "error")


async def _on_object(request: Request, act: Callable[[Flow, Any, dict[str, Any]], str]) -> Response:
    """An action on the object in the URL: ``act(flow, obj, form)`` moves it and says what it did."""
    form = await _form(request)
    flow = flow_named(request, request.path_params["machine"])
    object_id = request.path_params["object_id"]

    def work(session: Session) -> str:
        obj = queries.find_object(session, flow, object_id)
        if obj is None:
            raise HTTPException(404, f"{flow.machine} has no object {object_id!r}")
        return f"{flow.machine} {object_id}: {act(flow, obj, form)}"

    await _run(request, work)
    return _back(request, form, str(request.url_for("object", machine=flow.machine, object_id=object_id).path))


async def fire(request: Request) -> Response:
    def act(flow: Flow, obj: Any, form: dict[str, Any]) -> str:
        transition = str(form.get("transition", ""))
        change = flow.fire(obj, transition, {}, actor=ACTOR)
        return f"{change.from_state} → {change.to_state} ({transition})"

    return await _on_object(request, act)


async def defibrillate(request: Request) -> Response:
    def act(flow: Flow, obj: Any, form: dict[str, Any]) -> str:
        change = flow.defibrillate(obj, actor=ACTOR)
        return f"defibrillated, {change.from_state} → {change.to_state}"

    return await _on_object(request, act)


async def touch(request: Request) -> Response:
    def act(flow: Flow, obj: Any, form: dict[str, Any]) -> str:
        change = flow.touch(obj, {}, actor=ACTOR)
        return f"touched, {change.to_state} entered again"

    return await _on_object(request, act)


async def defibrillate_all(request: Request) -> Response:
    """Restart every object of the filtered list that is in a state with a defibrillation target."""
    form = await _form(request)
    flow = flow_named(request, request.path_params["machine"])
    state = str(form.get("status") or "") or None
    if state is not None and state not in flow.compiled.spec.states:
        raise HTTPException(400, f"{flow.machine} has no state {state!r}")
    search = str(form.get("q") or "").strip() or None

    def work(session: Session) -> str:
        restarted = skipped = unknown = 0
        for obj in session.scalars(queries.object_query(flow, state=state, search=search)).all():
            try:
                if flow.compiled.spec.states[flow.state_of(obj, "defibrillate")].defibrillate is None:
                    continue
                flow.defibrillate(obj, actor=ACTOR)
                restarted += 1
            except UnknownStatusError:
                unknown += 1
            except (TransitionError, ConcurrencyError):
                skipped += 1
        also = f", {unknown} skipped (status value unknown to the machine)" if unknown else ""
        return f"{flow.machine}: {restarted} defibrillated, {skipped} had moved on{also}"

    await _run(request, work)
    return _back(request, form, str(request.url_for("objects", machine=flow.machine).path))


async def archive_action(request: Request) -> Response:
    """Compress, restore or purge one history row's payload."""
    form = await _form(request)
    row_id, action = numbers.row_id(request.path_params["row_id"], "history row"), request.path_params["action"]
    if action not in ARCHIVE_ACTIONS:
        raise HTTPException(404, f"no action {action!r}")
    archive = admin_of(request).app.archiver

    def work(session: Session) -> str:
        if action == "compress":
            done = archive.compress(ids=[row_id]).rows
        elif action == "restore":
            result = archive.restore([row_id])
            if result.failed:
                raise ArchiveError(f"history row {row_id}: {result.failed[row_id]}")
            done = len(result.restored)
        else:
            purged = archive.purge(ids=[row_id])
            if purged.failed:
                raise ArchiveError(f"history row {row_id}: kept restored, {purged.failed[row_id]}")
            done = len(purged.purged)
        return f"history row {row_id}: {action} {'done' if done else 'had nothing to do'}"

    await _run(request, work)
    return _back(request, form, str(request.url_for("index").path))
