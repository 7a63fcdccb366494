"""Apply one verified callback delivery: remember it, find the object, move it, all in one transaction.

The delivery's row and the move commit together, so a provider's retry after a crash between the commit
and the answer finds the row and is answered 200 with nothing changed.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, and_, delete, insert, update
from sqlalchemy.exc import IntegrityError

from engine.db import SQLITE_BEGIN_OPTION
from engine.errors import ConcurrencyError, ConfigurationError, UnknownStatusError
from engine.orm.tables import callback_deliveries
from engine.redaction import Redactor
from engine.spec.model import CallbackSpec, HmacVerifier
from engine.spec.resolve import Unresolved, import_object
from engine.work.bodies import stored_body

if TYPE_CHECKING:
    from engine.runtime.flow import Flow
    from engine.statewright import Statewright

#: What a callback's ``handle`` receives and returns: the request, and the context of the move (or None).
HandleCallable = Callable[["InboundRequest"], Mapping[str, Any] | None]


@dataclass(frozen=True)
class InboundRequest:
    """A delivery as ``handle`` sees it: method, path, lower-cased headers and the raw body."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes = field(repr=False)

    def json(self) -> Any:
        """The body parsed as JSON (raises ``ValueError`` if it is not)."""
        return json.loads(self.body)


class Outcome(Enum):
    """How a delivery ended."""

    MOVED = "moved"
    REPLAY = "already processed"
    UNKNOWN_OBJECT = "unknown object"
    WRONG_STATE = "not in the awaited state"

    @property
    def status(self) -> int:
        """The HTTP status code of the answer: a replay is a success, as the first delivery was."""
        return _STATUS_BY_OUTCOME[self]


_STATUS_BY_OUTCOME = {Outcome.MOVED: 200, Outcome.REPLAY: 200, Outcome.UNKNOWN_OBJECT: 404, Outcome.WRONG_STATE: 409}


@dataclass(frozen=True)
class Result:
    """A delivery's outcome, the state the object was found in, and the history row written (if any)."""

    outcome: Outcome
    state: str | None = None
    change_id: int | None = None


class Receiver:
    """Applies verified deliveries of one app's callbacks.

    Args:
        app: The Statewright app whose machines declare the callbacks.

    Raises:
        ConfigurationError: A callback's ``handle`` does not import or is not callable.
    """

    def __init__(self, app: Statewright) -> None:
        self.app = app
        self._handles: dict[tuple[str, str], HandleCallable | None] = {}
        self._redactors: dict[tuple[str, str], Redactor] = {}
        for name, compiled in app.machines.items():
            for callback in compiled.spec.callbacks.values():
                self._handles[name, callback.name] = _import_handle(callback)
                extra = [*callback.redact]
                if isinstance(callback.verify, HmacVerifier):
                    extra.append(callback.verify.header)  # the signature is no secret, but no use to a reader
                self._redactors[name, callback.name] = app.redactor.including(extra)

    def receive(self, machine: str, callback: CallbackSpec, key: str, request: InboundRequest) -> Result:
        """Apply one delivery whose signature has been verified.

        Args:
            machine: The machine's name.
            callback: The callback it was delivered to.
            key: The object's key as the URL carried it.
            request: The delivery.

        Returns:
            ``MOVED`` (committed), ``REPLAY`` (already processed: nothing written), ``UNKNOWN_OBJECT`` or
            ``WRONG_STATE`` (nothing written).
        """
        flow = self.app.flows[machine]
        try:
            primary_key = flow.key_of(key)
        except (ValueError, TypeError):
            return Result(Outcome.UNKNOWN_OBJECT)
        delivery = _delivery_id(callback, request)
        with self.app.sessionmaker() as session, session.begin():
            # On SQLite take the write lock first, so concurrent deliveries queue instead of failing on a stale read.
            connection = session.connection(execution_options={SQLITE_BEGIN_OPTION: "IMMEDIATE"})
            row = {"machine": machine, "callback": callback.name, "model_id": key, "delivery": delivery}
            if not _remember(connection, row, callback):
                session.rollback()
                return Result(Outcome.REPLAY)
            obj = session.get(flow.compiled.model, primary_key)
            if obj is None:
                session.rollback()
                return Result(Outcome.UNKNOWN_OBJECT)
            try:
                state: str | None = flow.state_of(obj, f"callback {callback.name}")
            except UnknownStatusError:  # a status value no state declares: certainly not the awaited one
                state = None
            if state != callback.steps.when:
                session.rollback()
                return Result(Outcome.WRONG_STATE, state)
            try:
                change_id = self._move(flow, obj, machine, callback, request)
            except ConcurrencyError:
                session.rollback()
                return Result(Outcome.WRONG_STATE, state)
            connection.execute(
                update(callback_deliveries)
                .where(*(callback_deliveries.c[name] == value for name, value in row.items()))
                .values(status_change_id=change_id)
            )
        return Result(Outcome.MOVED, state, change_id)

    def _move(self, flow: Flow, obj: Any, machine: str, callback: CallbackSpec, request: InboundRequest) -> int:
        redactor = self._redactors[machine, callback.name]
        payload = {
            "method": request.method,
            "path": request.path,
            "headers": redactor.headers(request.headers.items()),
            **stored_body(
                request.body,
                request.headers.get("content-type", ""),
                redactor,
                limit=self.app.body_limits.max_stored_body,
            ),
        }
        handle = self._handles[machine, callback.name]
        actor = f"callback:{callback.name}"
        # No savepoint: receive() rolls the whole transaction back when the move fails.
        move = functools.partial(flow.set_status, obj, payload=payload, actor=actor, savepoint=False)
        try:
            context = dict(handle(request) or {}) if handle is not None else {}
        except Exception as failure:  # noqa: BLE001 - any failure of the user's handler is the callback's error step
            change = move(callback.steps.error, exception=failure)
        else:
            change = move(callback.steps.complete, context=context)
        return int(change.id)


def _delivery_id(callback: CallbackSpec, request: InboundRequest) -> str:
    """The delivery id header's value when the callback names one and it was sent; else the body's digest."""
    if callback.delivery_header is not None:
        value = request.headers.get(callback.delivery_header.lower(), "").strip()
        if value:
            return "id:" + value[:190]
    return "sha256:" + hashlib.sha256(request.body).hexdigest()


def _remember(connection: Connection, row: dict[str, str], callback: CallbackSpec) -> bool:
    """Insert the delivery's row; ``False`` if an unexpired row says it was processed already."""
    now = datetime.now(UTC)
    if _insert(connection, {**row, "received_at": now, "expires_at": now + callback.replay_ttl}):
        return True
    # Seen before: a row past its time to live counts as never seen, and makes way for this delivery.
    same = and_(*(callback_deliveries.c[name] == value for name, value in row.items()))
    expired = connection.execute(delete(callback_deliveries).where(same, callback_deliveries.c.expires_at < now))
    if not expired.rowcount:
        return False
    return _insert(connection, {**row, "received_at": now, "expires_at": now + callback.replay_ttl})


def _insert(connection: Connection, values: dict[str, Any]) -> bool:
    """Insert a delivery row unless its key is taken (waiting for a concurrent insert of it to end)."""
    dialect = connection.dialect.name
    if dialect in ("postgresql", "sqlite"):
        from sqlalchemy.dialects import postgresql, sqlite

        upsert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(callback_deliveries)
        # RETURNING, not rowcount: psycopg reports -1 for an INSERT … ON CONFLICT through SQLAlchemy.
        statement = upsert.values(values).on_conflict_do_nothing().returning(callback_deliveries.c.machine)
        return connection.execute(statement).first() is not None
    try:
        with connection.begin_nested():
            connection.execute(insert(callback_deliveries).values(values))
    except IntegrityError:
        return False
    return True


def _import_handle(callback: CallbackSpec) -> HandleCallable | None:
    if callback.handle is None:
        return None
    try:
        function = import_object(callback.handle, callback.origin.text("handle"))
    except Unresolved as unresolved:
        raise ConfigurationError(f"Handler of callback {callback.name!r}: {unresolved.diagnostic.message}") from None
    if not callable(function):
        raise ConfigurationError(f"Handler of callback {callback.name!r}: {callback.handle!r} is not callable.")
    return function  # type: ignore[no-any-return]
