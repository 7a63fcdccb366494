"""``app.archiver``: the same archiver, over the app's database, for payloads the app recorded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine

from engine import Statewright
from engine.archive import ArchiveSettings
from tests.runtime.conftest import RUNTIME_MACHINES
from tests.runtime.ticketing.models import Ticket, TicketBase


def test_the_app_archives_and_restores_the_payloads_it_recorded(
    database_url: str, tmp_path: Path, engine: Engine
) -> None:
    """``engine`` has made fresh Statewright tables in the database; the app adds its model's."""
    settings = ArchiveSettings(uri=f"file://{tmp_path / 'archives'}", temp_dir=tmp_path / "building")
    app = Statewright.from_path(RUNTIME_MACHINES, database_url=database_url, archive_settings=settings)
    try:
        TicketBase.metadata.drop_all(app.engine)
        TicketBase.metadata.create_all(app.engine)
        with app.sessionmaker() as session:
            ticket = Ticket(title="t")
            session.add(ticket)
            session.commit()
            change = ticket.set_status("failed", payload={"response": {"status": 500}}, exception=KeyError("x"))
            later = datetime.now(UTC) + timedelta(days=3)
            assert app.archiver.compress(now=later).rows == 1, "only the row with a payload and a traceback"
            (_, failed) = ticket.history()
            assert failed.payload is None
            assert failed.exception_traceback is None
            assert failed.exception_message == "'x'", "the exception's type and message stay in the row"
            assert failed.archived_at is not None
            assert failed.archive_uri is not None
            assert failed.archive_uri.startswith(settings.uri)
            assert app.archiver.restore([change.id]).restored == (change.id,)
            session.commit()  # end the read transaction: the restore committed on its own connection
            (_, failed) = ticket.history()
            assert failed.payload == {"response": {"status": 500}}
            assert failed.exception_traceback is not None
            assert "KeyError" in failed.exception_traceback
            assert failed.restored_at is not None
    finally:
        TicketBase.metadata.drop_all(app.engine)
        app.close()
