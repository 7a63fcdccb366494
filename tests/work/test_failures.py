"""Work that fails for good always ends recorded: the object in its error state, or a failure record."""

from __future__ import annotations

import importlib
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, insert, select

from engine import DefinitionError, Statewright
from engine.orm.tables import failures, outbox, statuses
from engine.work.failures import FAILED, list_failures
from tests.work.app.handlers import GRUMBLES, LISTENER_FAILS
from tests.work.app.models import Errand
from tests.work.conftest import VANISHING


def errand_in(app: Statewright, transition: str) -> int:
    """A new errand, moved along ``transition`` (which starts the work under test)."""
    with app.sessionmaker() as session:
        errand = Errand()
        session.add(errand)
        session.commit()
        errand.fire(transition)
        return errand.id


def last_change(app: Statewright, errand_id: int) -> tuple[list[str], str | None, str | None]:
    """The states the errand went through, and the exception type and message of its last change."""
    with app.sessionmaker() as session:
        history = session.get_one(Errand, errand_id).history()
    return [change.to_state for change in history], history[-1].exception_type, history[-1].exception_message


def test_an_endpoint_with_a_relative_url_and_no_base_url_ends_in_error_with_the_reason(
    errands: Statewright, drain: Callable[[], None]
) -> None:
    errand_id = errand_in(errands, "go_relative")
    drain()
    states, kind, message = last_change(errands, errand_id)
    assert states == ["new", "relative", "working", "failed"]
    assert kind == "statewright.ConfigurationError"
    assert message is not None
    assert "no http_base_url was configured" in message


def test_a_payload_hook_that_fails_before_the_claim_ends_in_error(
    errands: Statewright, drain: Callable[[], None]
) -> None:
    errand_id = errand_in(errands, "go_hooked")
    drain()
    states, kind, message = last_change(errands, errand_id)
    assert states == ["new", "hooked", "working", "failed"]
    assert kind == "tests.work.app.handlers.Grumble"
    assert message == f"no body for errand {errand_id}"


def test_a_task_handler_is_imported_when_the_app_starts_not_per_delivery(
    errands: Statewright, drain: Callable[[], None], tmp_path: Path
) -> None:
    """The app imported ``errand_vanishing:run`` when it started: the delivery runs it without importing."""
    (tmp_path / f"{VANISHING}.py").unlink()
    sys.modules.pop(VANISHING, None)
    importlib.invalidate_caches()
    errand_id = errand_in(errands, "go_missing")
    drain()
    states, kind, _ = last_change(errands, errand_id)
    assert states == ["new", "missing", "working", "done"]
    assert kind is None


def test_an_app_whose_task_handler_no_longer_imports_does_not_start(errands: Statewright, tmp_path: Path) -> None:
    (tmp_path / f"{VANISHING}.py").unlink()
    sys.modules.pop(VANISHING, None)
    importlib.invalidate_caches()
    with pytest.raises(DefinitionError, match=f"Cannot import module {VANISHING!r}"):
        Statewright([flow.compiled.spec for flow in errands.flows.values()], engine=errands.engine)


def test_a_task_past_its_time_limit_ends_in_error(errands: Statewright, drain: Callable[[], None]) -> None:
    errand_id = errand_in(errands, "go_slow")
    drain()
    states, kind, message = last_change(errands, errand_id)
    assert states == ["new", "slow", "working", "failed"]
    assert kind == "statewright.HandlerTimedOut"
    assert message is not None
    assert message.startswith("task too_slow ran past its time limit of 0.3 s and was interrupted")


def test_a_failing_listener_and_reaction_leave_failure_records_after_their_own_retries(
    errands: Statewright, drain: Callable[[], None]
) -> None:
    errand_id = errand_in(errands, "go_done")
    drain()
    assert GRUMBLES == {"listener": 2, "reaction": 3}, "retries from the machine file, not Dramatiq's 20"
    records = {record.kind: record for record in list_failures(errands.engine)}
    assert set(records) == {"listener", "reaction"}
    listener, reaction = records["listener"], records["reaction"]
    assert (listener.machine, listener.name, listener.status, listener.attempts) == (
        "errand",
        "errand.done#0",
        FAILED,
        2,
    )
    assert listener.exception_type == "tests.work.app.handlers.Grumble"
    assert listener.exception_message == f"listener refused errand {errand_id}"
    assert listener.exception_traceback is not None
    assert "Grumble" in listener.exception_traceback
    assert listener.message is not None
    assert listener.message["model_id"] == str(errand_id)
    assert listener.outbox_id is not None
    assert listener.model_id == str(errand_id)
    assert reaction.attempts == 3
    assert reaction.name == "errand.done#0"
    assert (
        f"failed errand listener errand.done#0 after 2 attempts: tests.work.app.handlers.Grumble: "
        f"listener refused errand {errand_id}"
    ) in listener.line()
    stored = " ".join(str(value) for value in (reaction.exception_message, reaction.exception_traceback))
    assert "selector refused errand" in stored
    assert "api.example" in stored
    assert "hunter2-pw" not in stored, "failure records are masked like history"
    assert "k3y-s3cret" not in stored, "failure records are masked like history"


def _unknown_task_row(app: Statewright, errand_id: int) -> int:
    """An outbox row naming a task the machine does not declare (written by an older machine file)."""
    with app.engine.begin() as connection:
        change_id = connection.scalar(select(func.max(statuses.c.id)))
        return int(
            connection.execute(
                insert(outbox).values(
                    status_change_id=change_id,
                    kind="task",
                    name="vanished",
                    machine="errand",
                    model_type="tests.work.app.models:Errand",
                    model_id=str(errand_id),
                    message={"model_id": str(errand_id)},
                    created_at=datetime.now(UTC),
                    attempts=0,
                )
            ).inserted_primary_key[0]
        )  # type: ignore[index]


def test_an_outbox_row_naming_a_task_the_machine_no_longer_has_is_recorded_and_does_not_block_the_sweep(
    errands: Statewright, drain: Callable[[], None]
) -> None:
    errand_id = errand_in(errands, "go_done")
    unknown = _unknown_task_row(errands, errand_id)
    later = errand_in(errands, "go_done")
    with errands.engine.begin() as connection:  # the relay died before sending the later errand's rows
        connection.execute(outbox.update().where(outbox.c.model_id == str(later)).values(sent_at=None))
    errands.sweep_outbox()
    with errands.engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None))) == 0
        recorded = connection.execute(select(failures).where(failures.c.outbox_id == unknown)).one()
    assert recorded.kind == "task"
    assert recorded.name == "vanished"
    assert recorded.status == FAILED
    assert recorded.exception_type == "statewright.UnknownWork"
    assert "declares no such task" in recorded.exception_message


def test_a_message_for_a_task_the_machine_no_longer_has_fails_at_once_and_is_recorded(
    errands: Statewright, drain: Callable[[], None]
) -> None:
    errand_id = errand_in(errands, "go_done")
    unknown = _unknown_task_row(errands, errand_id)
    actor = errands.work.actors[("task", "errands")]
    actor.send_with_options(args=(unknown, "errand", "vanished", str(errand_id)), max_retries=3)
    drain()
    with errands.engine.connect() as connection:
        recorded = connection.execute(select(failures).where(failures.c.outbox_id == unknown)).one()
    assert recorded.exception_type == "statewright.UnknownWork"
    assert recorded.attempts == 1, "work that is not declared is not retried"


def test_a_message_dramatiq_skips_and_fails_leaves_a_failure_record(
    errands: Statewright, drain: Callable[[], None]
) -> None:
    """Dramatiq's AgeLimit fails a message that waited too long without running it: it still ends recorded."""
    LISTENER_FAILS[0] = False
    errand_id = errand_in(errands, "go_done")
    drain()
    with errands.engine.connect() as connection:
        row_id = connection.scalar(
            select(outbox.c.id).where(outbox.c.kind == "listener", outbox.c.model_id == str(errand_id))
        )
    # Delayed past its maximum age, it is failed as soon as a worker takes it.
    errands.work.actors[("listener", "errands")].send_with_options(args=(row_id,), max_age=10, delay=200)
    time.sleep(0.3)
    drain()
    (record,) = [record for record in list_failures(errands.engine) if record.kind == "listener"]
    assert record.outbox_id == row_id
    assert record.reason == "Dramatiq skipped the message and failed it"
    assert record.exception_type is None


def test_the_traceback_a_retried_message_carries_into_the_broker_is_masked(
    errands: Statewright, drain: Callable[[], None]
) -> None:
    from dramatiq import Middleware

    class Stored(Middleware):
        """Last in line: sees each message as the broker is about to store it."""

        def __init__(self) -> None:
            self.tracebacks: list[str] = []

        def before_enqueue(self, broker: object, message: Any, delay: int | None) -> None:
            if "traceback" in message.options:
                self.tracebacks.append(message.options["traceback"])

    stored = Stored()
    errands.broker.add_middleware(stored)
    errand_in(errands, "go_done")
    drain()
    retried = [text for text in stored.tracebacks if "selector refused errand" in text]
    # Each retry passes twice: into the delay queue, then from it into the reaction's queue.
    assert len(retried) >= 2, "the reaction's two retries went through the broker with their traceback"
    assert all("api.example" in text and "hunter2-pw" not in text and "k3y-s3cret" not in text for text in retried)
