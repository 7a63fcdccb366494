"""The history writer masks what it stores: payload, context, exception message and traceback, and the
outbox message that copies the context (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import String, cast, select

from engine import Statewright
from engine.orm.tables import outbox, statuses
from examples.base import Base
from examples.documents.models import Document
from tests.conftest import MACHINES, fresh_tables

SECRETS = ("ctx-secret-1", "ctx-secret-2", "payload-secret-1", "payload-secret-2", "exc-secret-1", "exc-secret-2")


@pytest.fixture
def app(database_url: str) -> Iterator[Statewright]:
    statewright = Statewright.from_path(MACHINES / "document.yaml", database_url=database_url)
    fresh_tables(statewright.engine, Base.metadata)
    yield statewright
    Base.metadata.drop_all(statewright.engine)
    statewright.close()


def _failure() -> RuntimeError:
    try:
        raise RuntimeError("GET https://ada:exc-secret-1@api.example/x?access_token=exc-secret-2 answered 500")
    except RuntimeError as exc:
        return exc


def test_history_and_outbox_rows_store_no_secret_of_payload_context_or_exception(app: Statewright) -> None:
    with app.sessionmaker() as session:
        document = Document(title="masked")
        session.add(document)
        session.commit()
        document.set_status(
            "processing",
            payload={"login": {"Password": "payload-secret-1"}, "note": "sent with apiKey=payload-secret-2"},
        )
        context = {"Client-Secret": "ctx-secret-1", "url": "https://h/?token=ctx-secret-2"}
        change = app.flow(document).set_status(document, "error", exception=_failure(), context=context)
    assert change.context == {"Client-Secret": "***", "url": "https://h/?token=***"}
    assert change.exception_message == "GET https://***@api.example/x?access_token=*** answered 500"
    assert change.outbox_rows == 1, "document.failed is emitted: its message carries the context"
    with app.engine.connect() as connection:
        stored = [
            str(value)
            for table in (statuses, outbox)
            for row in connection.execute(select(*(cast(c, String) for c in table.c)))
            for value in row
        ]
    assert any("apiKey=***" in value for value in stored)
    for secret in SECRETS:
        assert not any(secret in value for value in stored), f"{secret!r} was stored"


def test_the_actor_column_is_masked_but_a_workers_claim_actor_is_kept(app: Statewright) -> None:
    claimant = "statewright worker, message 0b4f6c1e-5d7a-4f5e-9a51-3c2d1e0f9a8b"
    with app.sessionmaker() as session:
        document = Document(title="actor")
        session.add(document)
        session.commit()
        document.set_status("processing", actor="ops password=ACTORPW3")
        document.set_status("error", actor=claimant)
    with app.engine.connect() as connection:
        actors = list(connection.execute(select(statuses.c.actor).order_by(statuses.c.id)).scalars())
    assert actors[-2:] == ["ops password=***", claimant]


def _failure_with_escaped_json() -> RuntimeError:
    try:
        # The traceback shows this source line: its escaped quotes are what the test is about.
        raise RuntimeError("upstream refused " + "{\"password\": \"PWJSON34\"}"[:0] + "the request")  # fmt: skip
    except RuntimeError as exc:
        return exc


def test_a_tracebacks_source_line_with_escaped_quotes_is_masked(app: Statewright) -> None:
    with app.sessionmaker() as session:
        document = Document(title="traceback")
        session.add(document)
        session.commit()
        document.set_status("processing")
        change = app.flow(document).set_status(document, "error", exception=_failure_with_escaped_json())
    assert change.exception_traceback is not None
    assert '\\"password\\": \\"***\\"' in change.exception_traceback
    assert "PWJSON34" not in change.exception_traceback


def test_nan_and_infinities_are_stored_as_the_same_strings_on_every_database(app: Statewright) -> None:
    with app.sessionmaker() as session:
        document = Document(title="numbers")
        session.add(document)
        session.commit()
        app.flow(document).set_status(
            document,
            "processing",
            context={"ceiling": float("inf")},
            payload={"score": float("nan"), "range": [float("-inf"), 2.5]},
        )
        history = document.history()
    assert history[-1].payload == {"score": "NaN", "range": ["-Infinity", 2.5]}
    assert history[-1].context == {"ceiling": "Infinity"}
