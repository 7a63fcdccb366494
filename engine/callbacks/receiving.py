"""Apply one verified callback delivery: move the object and remember the delivery, in one transaction.

The delivery's row and the move commit together (on PostgreSQL in one statement), so a provider's retry after
a crash between the commit and the answer finds the row and is answered 200 with nothing changed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import ColumnElement, Insert, and_, bindparam, delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.db import SQLITE_BEGIN_OPTION
from engine.errors import ConfigurationError, UnknownStatusError
from engine.orm.tables import callback_deliveries
from engine.redaction import Masked, Redactor
from engine.runtime.keys import format_key
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
    """A delivery's outcome, and the state the object was found in (if it was looked up)."""

    outcome: Outcome
    state: str | None = None


@dataclass(frozen=True)
class DeliveryRecord:
    """The row remembering one delivery, written alongside the move's history row (``engine.runtime.alongside``).

    Its primary key is the delivery: a copy that arrives while the row lives cannot write it again.
    """

    machine: str
    callback: str
    model_id: str
    delivery: str
    ttl: timedelta

    kind: ClassVar[str] = "callback_delivery"

    def insert(self, dialect: str, change_id: ColumnElement[Any]) -> Insert:
        """A plain INSERT: a copy of a remembered delivery fails on the primary key, and its claim with it."""
        values = [bindparam(f"d_{name}", type_=callback_deliveries.c[name].type) for name in _RECORD_COLUMNS]
        return insert(callback_deliveries).from_select(
            [*_RECORD_COLUMNS, "status_change_id"], select(*values, change_id)
        )

    def params(self) -> dict[str, Any]:
        """The row's values, received now and remembered for the callback's ``replay_ttl``."""
        now = datetime.now(UTC)
        return {f"d_{name}": value for name, value in self._key().items()} | {
            "d_received_at": now,
            "d_expires_at": now + self.ttl,
        }

    def matching(self) -> ColumnElement[bool]:
        """Selects this delivery's row."""
        return and_(*(callback_deliveries.c[name] == value for name, value in self._key().items()))

    def _key(self) -> dict[str, str]:
        return {
            "machine": self.machine,
            "callback": self.callback,
            "model_id": self.model_id,
            "delivery": self.delivery,
        }


#: What a delivery's row says besides the history row it moved.
_RECORD_COLUMNS = ("machine", "callback", "model_id", "delivery", "received_at", "expires_at")


@dataclass(frozen=True)
class _Step:
    """What the move of a delivery will be: its target, context and exception, decided from the request."""

    target: str
    context: Mapping[str, Any]
    exception: BaseException | None = None


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

        The move, its history row and the delivery's row are one transaction (on PostgreSQL one statement);
        only a delivery that did not move anything reads more, to say why.

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
        # The key as history rows write it: `/0042` and `/42` are one object, so one delivery's record.
        object_id = format_key(primary_key)
        if len(object_id) > MAX_OBJECT_ID:  # no history row could name such an object
            return Result(Outcome.UNKNOWN_OBJECT)
        record = DeliveryRecord(machine, callback.name, object_id, _delivery_id(callback, request), callback.replay_ttl)
        step = self._step(machine, callback, request)
        payload = self._payload(machine, callback, request)
        # A second round only when the first found this delivery's row expired (and deleted it), or the
        # object back in `when` after the move missed it.
        for _ in range(_ROUNDS):
            with self.app.sessionmaker() as session:
                try:
                    moved = flow.move_by_key(
                        session,
                        primary_key,
                        callback.steps.when,
                        step.target,
                        context=step.context,
                        payload=payload,
                        exception=step.exception,
                        actor=f"callback:{callback.name}",
                        alongside=record,
                    )
                except IntegrityError:  # the delivery's row exists: a copy, or one past its time to live
                    moved = None
                if moved is not None:
                    return Result(Outcome.MOVED, callback.steps.when)
                result = _why_not_moved(session, flow, callback, primary_key, record)
            if result is not None:
                return result
        return Result(Outcome.WRONG_STATE)  # three rounds and the object was never where it was looked for

    def _step(self, machine: str, callback: CallbackSpec, request: InboundRequest) -> _Step:
        """``handle``'s context for the ``complete`` step, or its exception for the ``error`` step."""
        handle = self._handles[machine, callback.name]
        try:
            context = dict(handle(request) or {}) if handle is not None else {}
        except Exception as failure:  # noqa: BLE001 - any failure of the user's handler is the callback's error step
            return _Step(callback.steps.error, {}, failure)
        return _Step(callback.steps.complete, context)

    def _payload(self, machine: str, callback: CallbackSpec, request: InboundRequest) -> Masked:
        """The request as the history row stores it, masked like an endpoint's (and the callback's own keys)."""
        redactor = self._redactors[machine, callback.name]
        return Masked(
            {
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
        )


#: The longest object id a history row (and a delivery's row) holds.
MAX_OBJECT_ID = int(callback_deliveries.c.model_id.type.length or 100)  # type: ignore[attr-defined]

#: Rounds of a delivery: the move, and more only while something made way for it (see ``receive``).
_ROUNDS = 3


def _why_not_moved(
    session: Session, flow: Flow, callback: CallbackSpec, primary_key: tuple[Any, ...], record: DeliveryRecord
) -> Result | None:
    """Why a delivery moved nothing: a replay, an unknown object or another state; ``None``: try again.

    The delivery's row decides first: a copy of a processed delivery is answered as the first one was,
    whatever state the object is in now.
    """
    with session.begin():
        connection = session.connection(execution_options={SQLITE_BEGIN_OPTION: "IMMEDIATE"})
        now = datetime.now(UTC)
        expired = connection.execute(
            select(callback_deliveries.c.expires_at < now).where(record.matching())
        ).scalar()  # None: no row
        if expired is not None and not expired:
            return Result(Outcome.REPLAY)
        obj = session.get(flow.compiled.model, primary_key)
        if obj is None:
            return Result(Outcome.UNKNOWN_OBJECT)
        try:
            state: str | None = flow.state_of(obj, f"callback {callback.name}")
        except UnknownStatusError:  # a status value no state declares: certainly not the awaited one
            state = None
        if state != callback.steps.when:
            return Result(Outcome.WRONG_STATE, state)
        # In `when` after all: the row past its time to live counts as never seen and makes way, or the
        # object moved away and back meanwhile. The caller tries again.
        if expired:
            connection.execute(delete(callback_deliveries).where(record.matching()))
    return None


def _delivery_id(callback: CallbackSpec, request: InboundRequest) -> str:
    """The delivery id header's value when the callback names one and it was sent; else the body's digest."""
    if callback.delivery_header is not None:
        value = request.headers.get(callback.delivery_header.lower(), "").strip()
        if value:
            return "id:" + value[:190]
    return "sha256:" + hashlib.sha256(request.body).hexdigest()


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
