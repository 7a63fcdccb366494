"""The admin's failures page: work that failed for good (and resends), each open failure with a Retry button."""

from __future__ import annotations

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from engine.admin.actions import _back, _form
from engine.admin.context import admin_of, in_session, render
from engine.admin.numbers import row_id
from engine.admin.pages import shown_json, shown_text
from engine.admin.security import flash
from engine.errors import RetryRefused
from engine.work.failures import FAILED, RESENT, RETRIED, FailureRecord, list_failures, retry_failure


async def failures_page(request: Request) -> Response:
    """Open failures first, then resends and retried records, newest first within each."""
    app = admin_of(request).app

    def read(session: Session) -> list[FailureRecord]:
        records = list_failures(app.engine, statuses=(FAILED, RESENT, RETRIED))
        order = {FAILED: 0, RESENT: 1, RETRIED: 2}
        return sorted(records, key=lambda record: (order[record.status], -record.id))

    records = await in_session(request, read)
    redactor = app.redactor
    return render(
        request,
        "failures.html",
        records=records,
        open_count=sum(r.status == FAILED for r in records),
        pretty=lambda value: shown_json(value, redactor),
        masked=lambda text: shown_text(text, redactor),
    )


async def retry(request: Request) -> Response:
    """Send one open failure's work again; the record becomes ``retried``."""
    form = await _form(request)
    failure_id = row_id(request.path_params["failure_id"], "failure")
    app = admin_of(request).app

    def work(session: Session) -> str:
        record = retry_failure(app, failure_id)
        return f"failure #{failure_id} retried: {record.subject} sent again"

    try:
        flash(request, await in_session(request, work))
    except RetryRefused as refused:
        flash(request, str(refused), "error")
    return _back(request, form, str(request.url_for("failures").path))
