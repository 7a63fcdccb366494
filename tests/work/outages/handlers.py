"""Task handlers that cut their own database connection, so that the settle after them fails."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import text, update
from sqlalchemy.orm import Session, object_session

from tests.work.app.models import Job

#: Handler runs per job id.
RUNS: Counter[int] = Counter()


def _cut(session: Session) -> None:
    """Terminate the backend of ``session``'s connection from another one: its next statement fails."""
    pid = session.connection().execute(text("SELECT pg_backend_pid()")).scalar()
    with session.get_bind().connect() as admin:
        admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})


def keep_result_and_cut(job: Job) -> dict[str, Any]:
    """Change the job in the session (replayable), then lose the connection before the settle commits."""
    RUNS[job.id] += 1
    job.result = f"kept {job.id}"
    session = object_session(job)
    assert session is not None
    _cut(session)
    return {"runs": RUNS[job.id]}


def update_itself_and_cut(job: Job) -> None:
    """Change the job with a statement of its own (not replayable); lose the connection on the first run only."""
    RUNS[job.id] += 1
    session = object_session(job)
    assert session is not None
    session.execute(update(Job).where(Job.id == job.id).values(result=f"run {RUNS[job.id]}"))
    if RUNS[job.id] == 1:
        _cut(session)


def read_answer_and_cut(response: Any, call: Any) -> None:
    """An endpoint's response hook: keep the receipt on the call, then lose the connection before the settle."""
    call.answer = response.json()["receipt"]
    session = object_session(call)
    assert session is not None
    _cut(session)
