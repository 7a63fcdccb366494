"""When Dramatiq gives up on a message, something durable says so.

``FailureRecorder`` is a Dramatiq middleware that runs after ``Retries`` has decided: a message that
failed for good (retries exhausted, an error that is never retried, a time limit on the last attempt,
a failed skip) would otherwise go to the dead-letter queue and leave nothing behind. A task's or an
endpoint's object is moved to its ``error`` state with the exception; anything else (listeners,
reactions, work whose object cannot be moved) becomes a failure record.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from dramatiq import Broker, Middleware
from dramatiq.middleware import Retries
from sqlalchemy import select

from engine.db import begin_write
from engine.errors import ConcurrencyError, TransitionError, UnknownWork
from engine.orm.tables import outbox
from engine.runtime.outbox import OBJECT_WORK
from engine.spec.model import EndpointSpec, TaskSpec
from engine.work.failures import record_failure

if TYPE_CHECKING:
    from dramatiq.broker import MessageProxy

    from engine.work.actors import Work

log = logging.getLogger("engine.work")

#: Who the history says moved an object that failed for good.
ACTOR = "statewright worker"


class FailureRecorder(Middleware):
    """Records every message of a ``Work`` that Dramatiq failed for good; see the module."""

    def __init__(self, work: Work) -> None:
        self.work = work

    def after_process_message(
        self, broker: Broker, message: MessageProxy, *, result: Any = None, exception: BaseException | None = None
    ) -> None:
        """After ``Retries``: a failed message with an exception failed for good."""
        if exception is not None and message.failed and message.actor_name in self.work.kind_by_actor:
            fail_for_good(self.work, message, exception)

    def after_skip_message(self, broker: Broker, message: MessageProxy) -> None:
        """A middleware skipped the message and failed it (an age limit, say): that is final too."""
        if message.failed and message.actor_name in self.work.kind_by_actor:
            fail_for_good(self.work, message, None)


def add_failure_recorder(broker: Broker, work: Work) -> None:
    """Put the recorder on ``broker`` so that its ``after_`` hooks run after ``Retries`` has decided."""
    has_retries = any(isinstance(middleware, Retries) for middleware in broker.middleware)
    broker.add_middleware(FailureRecorder(work), before=Retries if has_retries else None)


def fail_for_good(work: Work, message: MessageProxy, exception: BaseException | None) -> None:
    """Settle or record one message Dramatiq will not run again."""
    kind = work.kind_by_actor[message.actor_name]
    runs = int(message.options.get("retries", 0))
    if isinstance(exception, UnknownWork):  # never retried, so Retries did not count the run
        runs += 1
    row = _outbox_row(work, int(message.args[0]))
    if row is not None and kind in OBJECT_WORK and _settled(work, row, exception):
        return
    machine, name = (row.machine, row.name) if row is not None else (_arg(message, 1), _arg(message, 2))
    reason = None if exception is not None else "Dramatiq skipped the message and failed it"
    if row is None:
        reason = f"outbox row {message.args[0]} no longer exists"
    with begin_write(work.engine) as connection:
        failure_id = record_failure(
            connection,
            machine=machine,
            kind=kind,
            name=name,
            outbox_row=row,
            attempts=runs,
            exception=exception,
            reason=reason,
            redactor=work.redactor,
        )
    log.error(
        "%s %s %s failed for good after %d run(s); failure record #%d (statewright failures)",
        machine,
        kind,
        name,
        runs,
        failure_id,
    )


def _arg(message: MessageProxy, index: int) -> str:
    return str(message.args[index]) if len(message.args) > index else "?"


def _outbox_row(work: Work, outbox_id: int) -> Any | None:
    with work.engine.connect() as connection:
        return connection.execute(select(outbox).where(outbox.c.id == outbox_id)).one_or_none()


def _settled(work: Work, row: Any, exception: BaseException | None) -> bool:
    try:
        return _settle_failed(work, row, exception)
    except Exception:  # a database hiccup, a status value the machine lacks: the record below still says it
        log.exception("could not move %s %s to its error state", row.machine, row.model_id)
        return False


def _settle_failed(work: Work, row: Any, exception: BaseException | None) -> bool:
    """Move the row's object to its work's ``error`` state; False when it cannot be (then record it)."""
    try:
        declared = work.table.of_row(row).spec
    except UnknownWork:
        return False
    assert isinstance(declared, TaskSpec | EndpointSpec)
    steps = declared.steps
    flow = work.flows[row.machine]
    with work.session_factory() as session:
        obj = session.get(flow.mapper.class_, flow.key_of(row.model_id))
        if obj is None:
            return False
        try:
            state = flow.state_of(obj)
            if state == steps.when and steps.processing is not None:
                # It failed before its claim (building the request, say): the graph reaches `error` via `processing`.
                flow.set_status(obj, steps.processing, actor=ACTOR)
                state = steps.processing
            if state == (steps.processing or steps.when):
                flow.set_status(obj, steps.error, exception=exception, actor=ACTOR)
        except (ConcurrencyError, TransitionError) as moved:
            log.info("could not move %s %s to %s: %s", row.machine, row.model_id, steps.error, moved)
            return False
    # Anywhere else the object has moved on (a duplicate delivery settled it): nothing is stuck.
    return True
