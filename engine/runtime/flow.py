"""``Flow``: one machine bound to one model class, and the single write path every status change takes.

A change is one transaction (a savepoint when the caller already has one open): a compare-and-set
UPDATE of the status column, the transition's actions, a row in ``statuses``, and outbox rows for
the work the new state triggers. A stale status, a guard or an action that raises: nothing is written.
"""

from __future__ import annotations

import dataclasses
import functools
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import BigInteger, Connection, Insert, Table, bindparam, literal_column, null, select, true, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Mapper, Session, SessionTransactionOrigin, aliased, attributes, object_session
from sqlalchemy.sql.selectable import Select

from engine.db import SQLITE_BEGIN_OPTION, is_sqlite_busy
from engine.errors import (
    ConcurrencyError,
    NoDefibrillation,
    NotBoundError,
    NotTouchable,
    StaleStatus,
    TransitionError,
    TransitionNotAllowed,
    UnknownStatusError,
    WriteConflict,
)
from engine.machine import CompiledMachine
from engine.orm.tables import statuses
from engine.orm.types import status_type_for
from engine.redaction import DEFAULT_REDACTOR, Redactor
from engine.runtime.alongside import Alongside
from engine.runtime.changes import StatusChange
from engine.runtime.clock import aware
from engine.runtime.emitting import collecting, current_emissions, emitted_rows
from engine.runtime.history import (
    CREATED,
    DEFIBRILLATE,
    INSERT_STATUS,
    INSERT_STATUSES,
    TIMEOUT,
    TOUCH,
    history_row,
    prefixed,
    read_history,
    recorded_after,
)
from engine.runtime.hooks import Hook, notify, overrides, queue_after_commit
from engine.runtime.keys import format_key, parse_key
from engine.runtime.outbox import INSERT_OUTBOX, OutboxItem, outbox_rows
from engine.spec.model import TransitionSpec
from engine.statuses import StatusEnum, UnknownStatus

#: Dialects that run an UPDATE inside a WITH clause, so compare-and-set and the history row go in one statement.
_FUSING_DIALECTS = frozenset({"postgresql"})


P = ParamSpec("P")
R = TypeVar("R")


def _reporting_refusals(move: Callable[Concatenate[Flow, Any, P], R]) -> Callable[Concatenate[Flow, Any, P], R]:
    """A move method that tells the hooks' ``after_refusal`` about the refusal it raises."""

    @functools.wraps(move)
    def reporting(flow: Flow, obj: Any, /, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return move(flow, obj, *args, **kwargs)
        except (TransitionError, ConcurrencyError) as refused:
            notify(flow.hooks, "after_refusal", obj, refused)
            raise

    return reporting


@dataclass(frozen=True)
class _Move:
    """Everything one status change needs, decided before the transaction starts."""

    obj: Any
    object_id: str
    source: StatusEnum
    target: StatusEnum
    transition: str
    context: Mapping[str, Any]
    actions: Sequence[Any]
    payload: Any
    exception: BaseException | None
    actor: str | None


def _opened_by_caller(session: Session) -> bool:
    """Whether the caller began the session's transaction explicitly (rather than by loading something)."""
    transaction = session.get_transaction()
    return transaction is not None and transaction.origin is not SessionTransactionOrigin.AUTOBEGIN


class Flow:
    """The binding of a compiled machine to its model class.

    Args:
        compiled: The machine.
        mapper: The model's SQLAlchemy mapper.
        hooks: Called around every change (``before_`` in order, ``after_`` in reverse).
        plan: For each state, the work entering it triggers.
        emits: For each event the machine's code may ``emit()``, its outbox items (``plan_emits``).
        redactor: Masks secrets in what history and outbox rows store (the default keys if not given).
    """

    def __init__(
        self,
        compiled: CompiledMachine,
        mapper: Mapper[Any],
        *,
        hooks: Sequence[Hook],
        plan: Mapping[str, Sequence[OutboxItem]],
        emits: Mapping[str, Sequence[OutboxItem]] | None = None,
        redactor: Redactor = DEFAULT_REDACTOR,
    ) -> None:
        self.compiled = compiled
        self.machine = compiled.name
        self.model_type = compiled.spec.model
        self.hooks = tuple(hooks)
        self.plan = {state: tuple(items) for state, items in plan.items()}
        self.emits = {event: tuple(items) for event, items in (emits or {}).items()}
        self._emittable = compiled.spec.emittable
        self.redactor = redactor
        self.mapper = mapper
        self.table: Table = mapper.local_table  # type: ignore[assignment]
        self.field = compiled.spec.field
        self.column = self.table.c[self.field]
        # The column reads and writes the status enum from now on; statements below are built with that type.
        self.column.type = status_type_for(
            self.column.type, f"{self.model_type}.{self.field} (machine {self.machine!r})"
        )
        self.column.type.bind_enum(compiled.status_enum)
        self.attribute = mapper.get_property_by_column(self.column).key
        # Built once: the compare-and-set UPDATE runs with bound parameters on every move.
        self._cas = (
            update(self.table)
            .where(
                *(column == bindparam(f"pk_{index}") for index, column in enumerate(mapper.primary_key)),
                self.column == bindparam("expected", type_=self.column.type),
            )
            .values({self.column.key: bindparam("new", type_=self.column.type)})
        )
        self._before_hooks = tuple(hook for hook in self.hooks if overrides(hook, "before_transition"))
        # Hooks given the moved object: a move by key loads it only for them (after-hooks get the changes).
        self._hooks_take_objects = any(
            overrides(hook, name) for hook in self.hooks for name in ("before_transition", "after_rollback")
        )
        # Where the database allows, a move is one statement: compare-and-set and history row together.
        # Only when nothing must run between the two: no before-hook that asks to run before the history
        # row (``Hook.before_history_row``); actions are checked per move. Other before-hooks run right after it.
        self._fusable = not any(hook.before_history_row for hook in self._before_hooks)
        self._cas_and_record = recorded_after(self._cas.returning(literal_column("1")).cte("moved")).returning(
            statuses.c.id, statuses.c.created_at
        )
        self._claim_fusable = self._simple_mapping()
        # Each thread builds its own claiming statement: SQLAlchemy fills parts of a statement that loads
        # ORM objects from a CTE lazily, and threads sharing one raced (seen: NoSuchColumnError 'claimed.id').
        self._per_thread = threading.local()

    # Reading ---------------------------------------------------------------------------------
    def state_of(self, obj: Any, transition: str = "move") -> str:
        """The state name of ``obj``'s current status.

        Args:
            obj: The object.
            transition: What the caller is about to do, for the error (a transition's name, ``defibrillate``, ...).

        Raises:
            UnknownStatusError: The status holds a value no state declares.
        """
        value = getattr(obj, self.attribute)
        if isinstance(value, StatusEnum):
            return value.state
        raw = value.value if isinstance(value, UnknownStatus) else value
        state = self.compiled.state_by_value.get(raw)
        if state is None:
            raise UnknownStatusError(
                machine=self.machine,
                object_id=self.object_id(obj),
                value=raw,
                values=list(self.compiled.state_by_value),
                transition=transition,
            )
        return state

    def object_id(self, obj: Any) -> str:
        """The object's primary key as text (see ``engine.runtime.keys`` for composite keys)."""
        return format_key(self.mapper.primary_key_from_instance(obj))

    def key_of(self, object_id: str) -> tuple[Any, ...]:
        """The primary key values an ``object_id`` text stands for."""
        return parse_key(object_id, self.mapper.primary_key)

    def available(self, obj: Any) -> list[str]:
        """Transitions leaving the object's state (guards not evaluated)."""
        return self.compiled.allowed(self.state_of(obj, "available_transitions"))

    # Moving ----------------------------------------------------------------------------------
    @_reporting_refusals
    def fire(self, obj: Any, transition: str, context: Mapping[str, Any], *, actor: str | None = None) -> StatusChange:
        """Fire the transition ``transition`` on ``obj``; see ``Stateful.fire``."""
        session = self._session(obj)
        decision = self.compiled.decide(self.state_of(obj, transition), transition, obj, context, self.object_id(obj))
        actions = self.compiled.actions_by_transition[id(decision.transition)]
        return self._move(
            session, obj, decision.source, decision.target, transition, context, actions=actions, actor=actor
        )

    @_reporting_refusals
    def set_status(
        self,
        obj: Any,
        state: str,
        *,
        payload: Any = None,
        exception: BaseException | None = None,
        context: Mapping[str, Any] | None = None,
        actor: str | None = None,
        savepoint: bool = True,
    ) -> StatusChange:
        """Move ``obj`` to ``state`` along the first transition that allows it, without guards.

        ``savepoint=False``: in a transaction the caller opened, write without a savepoint (two round trips
        fewer); only for a caller that rolls its whole transaction back when the move fails.
        """
        return self.claim_status(
            obj, state, payload=payload, exception=exception, context=context, actor=actor, savepoint=savepoint
        )

    def claim_status(
        self, obj: Any, state: str, *, context: Mapping[str, Any] | None = None, **details: Any
    ) -> StatusChange:
        """``set_status`` for a worker's claim (``details``: its payload, exception, actor); no ``after_refusal``.

        A claim that finds its object moved lost a race; the delivery reports that (``after_work_skipped``).
        """
        session = self._session(obj)
        source = self.state_of(obj, f"-> {state}")
        transition = self._transition_between(source, state, object_id=self.object_id(obj))
        actions = self.compiled.actions_by_transition[id(transition)]
        return self._move(session, obj, source, state, transition.name, context or {}, actions=actions, **details)

    @_reporting_refusals
    def defibrillate(self, obj: Any, *, actor: str | None = None) -> StatusChange:
        """Restart a failed object from its state's ``defibrillate`` target."""
        session = self._session(obj)
        source = self.state_of(obj, DEFIBRILLATE)
        target = self.compiled.spec.states[source].defibrillate
        if target is None:
            raise NoDefibrillation(
                f"{self.machine} {self.object_id(obj)}: state {source!r} has no defibrillation target.",
                machine=self.machine,
                state=source,
                transition=DEFIBRILLATE,
                object_id=self.object_id(obj),
            )
        return self._move(session, obj, source, target, DEFIBRILLATE, {}, actions=(), actor=actor)

    @_reporting_refusals
    def time_out(self, obj: Any, *, actor: str | None = None) -> StatusChange:
        """Move an object whose state's ``timeout`` passed to the timeout's target (the sweeper's move)."""
        session = self._session(obj)
        source = self.state_of(obj, TIMEOUT)
        timeout = self.compiled.spec.states[source].timeout
        if timeout is None:
            raise TransitionNotAllowed(
                machine=self.machine,
                state=source,
                transition=TIMEOUT,
                object_id=self.object_id(obj),
                allowed=self.available(obj),
            )
        return self._move(session, obj, source, timeout.to, TIMEOUT, {}, actions=(), actor=actor)

    @_reporting_refusals
    def touch(self, obj: Any, context: Mapping[str, Any], *, actor: str | None = None) -> StatusChange:
        """Re-enter ``obj``'s current state (marked ``touchable``); see ``Stateful.touch``."""
        session = self._session(obj)
        state = self.state_of(obj, TOUCH)
        if not self.compiled.spec.states[state].touchable:
            raise NotTouchable(
                machine=self.machine,
                state=state,
                object_id=self.object_id(obj),
                touchable=[name for name, spec in self.compiled.spec.states.items() if spec.touchable],
            )
        # Source and target are the same state: the compare-and-set still refuses an object moved meanwhile.
        return self._move(session, obj, state, state, TOUCH, context, actions=(), actor=actor)

    def _session(self, obj: Any) -> Session:
        session = object_session(obj)
        if session is None or obj not in session or self.mapper.primary_key_from_instance(obj)[0] is None:
            raise NotBoundError(
                f"{self.machine}: the object must be saved in a session before it can move "
                "(session.add(obj); session.flush())."
            )
        return session

    def _move(
        self,
        session: Session,
        obj: Any,
        source: str,
        target: str,
        transition: str,
        context: Mapping[str, Any],
        *,
        actions: Sequence[Any],
        payload: Any = None,
        exception: BaseException | None = None,
        actor: str | None = None,
        savepoint: bool = True,
    ) -> StatusChange:
        members = self.compiled.member_by_state
        move = _Move(
            obj,
            self.object_id(obj),
            members[source],
            members[target],
            transition,
            context,
            actions,
            payload,
            exception,
            actor,
        )
        try:
            if _opened_by_caller(session):
                if savepoint:
                    with session.begin_nested():
                        change = self._write(session, move)
                else:  # the caller rolls everything back if this fails
                    change = self._write(session, move)
                queue_after_commit(session, self.hooks, change)
            else:
                change = self._write_and_commit(session, move)
        except BaseException as error:
            # The database rolled back; the object in memory must not claim the new status.
            attributes.set_committed_value(obj, self.attribute, members[source])
            if not isinstance(error, (TransitionError, ConcurrencyError)):  # refusals are reported as such
                notify(self.hooks, "after_rollback", obj, source, target, transition, error)
            raise
        return change

    def _write_and_commit(self, session: Session, move: _Move) -> StatusChange:
        result = self._commit(session, lambda: (move.obj, self._write(session, move)))
        assert result is not None
        return result[1]

    def _commit(
        self, session: Session, write: Callable[[], tuple[Any, StatusChange] | None]
    ) -> tuple[Any, StatusChange] | None:
        """Our own transaction: on SQLite's stale-snapshot refusal, roll back and try once more.

        The retry is safe because compare-and-set decides again: it fails with ``StaleStatus`` if the
        object really moved, and succeeds if the other writer touched something else. ``write``
        returning ``None`` means there was nothing to do: the transaction is rolled back.
        """
        for attempt in (1, 2):
            try:
                if attempt == 2:
                    # Take SQLite's write lock before reading, so this try waits instead of failing.
                    session.connection(execution_options={SQLITE_BEGIN_OPTION: "IMMEDIATE"})
                result = write()
                if result is None:
                    session.rollback()
                    return None
                queue_after_commit(session, self.hooks, result[1])
                session.commit()
            except OperationalError as exc:
                session.rollback()
                if attempt == 2 or not is_sqlite_busy(exc):
                    raise
                continue
            except BaseException:
                session.rollback()
                raise
            return result
        raise AssertionError("unreachable")  # pragma: no cover

    def claim(
        self,
        session: Session,
        key: tuple[Any, ...],
        source: str,
        target: str,
        *,
        context: Mapping[str, Any] | None = None,
        payload: Any = None,
        exception: BaseException | None = None,
        actor: str | None = None,
        alongside: Alongside | None = None,
    ) -> Any | None:
        """Move the object whose primary key is ``key`` from ``source`` to ``target`` without loading it first.

        One ``UPDATE … RETURNING`` both checks the status (compare-and-set) and loads the object, so a
        worker claims its object in one round trip. Commits on its own. An ``alongside`` row (a worker's
        lease, a callback's delivery) is written in the same transaction (on PostgreSQL, in the same statement).

        Returns:
            The claimed object, or ``None`` if it was not in ``source`` (someone else moved it, or it is gone).

        Raises:
            IntegrityError: The ``alongside`` row could not be written (nothing was).
        """
        move = self._keyed_move(key, source, target, context, payload, exception, actor)
        claimed = self._claim(session, key, move, alongside, load=True)
        return None if claimed is None else claimed[0]

    def move_by_key(
        self,
        session: Session,
        key: tuple[Any, ...],
        source: str,
        target: str,
        *,
        context: Mapping[str, Any] | None = None,
        payload: Any = None,
        exception: BaseException | None = None,
        actor: str | None = None,
        alongside: Alongside | None = None,
    ) -> StatusChange | None:
        """``claim`` for a caller that needs the change, not the object: loads it only for actions and the hooks
        that are given objects (``before_transition``, ``after_rollback``).

        Returns:
            The change, or ``None`` if the object was not in ``source`` (someone else moved it, or it is gone).

        Raises:
            IntegrityError: The ``alongside`` row could not be written (nothing was).
        """
        move = self._keyed_move(key, source, target, context, payload, exception, actor)
        claimed = self._claim(session, key, move, alongside, load=self._hooks_take_objects)
        return None if claimed is None else claimed[1]

    def _keyed_move(
        self,
        key: tuple[Any, ...],
        source: str,
        target: str,
        context: Mapping[str, Any] | None,
        payload: Any,
        exception: BaseException | None,
        actor: str | None,
    ) -> _Move:
        """The move of an object not loaded (``obj`` is filled in once the compare-and-set returns it)."""
        transition = self._transition_between(source, target)
        members = self.compiled.member_by_state
        return _Move(
            None,
            format_key(key),
            members[source],
            members[target],
            transition.name,
            context or {},
            self.compiled.actions_by_transition[id(transition)],
            payload,
            exception,
            actor,
        )

    def _claim(
        self, session: Session, key: tuple[Any, ...], move: _Move, alongside: Alongside | None, *, load: bool
    ) -> tuple[Any, StatusChange] | None:
        """The claim in its own transaction: the object (``None`` unless ``load`` or loaded anyway) and the change."""
        source, target = move.source.state, move.target.state
        claimed_objects: list[Any] = []  # the object once the compare-and-set returned it: a rollback names it

        def write() -> tuple[Any, StatusChange] | None:
            with collecting(self.machine, self._emittable, self.redactor):
                return claim_once()

        def claim_once() -> tuple[Any, StatusChange] | None:
            if self._claim_fusable and self._fuses(session, move.actions):
                found = self._claim_fused(session, key, move, alongside, load=load)
                if found is None:
                    return None
                obj, change_id, created_at, row = found
                if load:
                    claimed_objects.append(obj)
                    self._before(obj, source, target, move.transition)
                return obj, self._recorded(session.connection(), change_id, created_at, row)
            model = self.mapper.class_
            statement = (
                update(model)
                .where(*(column == value for column, value in zip(self.mapper.primary_key, key, strict=True)))
                .where(self.column == move.source)
                .values({self.attribute: move.target})
                .returning(model)
            )
            obj = session.scalars(statement, execution_options={"synchronize_session": False}).one_or_none()
            if obj is None:
                return None
            claimed_objects.append(obj)
            change = self._apply(session, dataclasses.replace(move, obj=obj))
            if alongside is not None:
                connection = session.connection()
                connection.execute(
                    self._alongside_statement(connection, alongside), alongside.params() | {"change_id": change.id}
                )
            return obj, change

        try:
            return self._commit(session, write)
        except BaseException as error:
            if claimed_objects:  # the claim was made, then rolled back: a veto, an action's or hook's exception …
                notify(self.hooks, "after_rollback", claimed_objects[-1], source, target, move.transition, error)
            raise

    def _transition_between(self, source: str, target: str, *, object_id: str | None = None) -> TransitionSpec:
        transition = next(
            (
                t
                for t in self.compiled.spec.transitions
                if t.target == target and source in self.compiled.spec.sources_of(t)
            ),
            None,
        )
        if transition is None:
            allowed = sorted(
                {t.target for t in self.compiled.spec.transitions if source in self.compiled.spec.sources_of(t)}
            )
            raise TransitionNotAllowed(
                machine=self.machine,
                state=source,
                transition=f"-> {target}",
                object_id=object_id,
                allowed=[f"-> {name}" for name in allowed],
            )
        return transition

    def _simple_mapping(self) -> bool:
        """Whether the model maps exactly one table with one key column (what the fused claim can load)."""
        mapper = self.mapper
        return (
            len(mapper.primary_key) == 1
            and mapper.inherits is None
            and mapper.polymorphic_on is None
            and mapper.persist_selectable is self.table
        )

    def _claiming_statement(self, alongside: Alongside | None, *, load: bool) -> Select[Any]:
        """``WITH claimed AS (UPDATE … RETURNING *), history AS (INSERT …) SELECT claimed, history.id``.

        ``alongside``: a third part writes its row, only if the claim was made (``engine.runtime.alongside``).
        ``load=False``: the object is not returned (``claimed`` is then ``NULL``).
        """
        if load:
            claimed = self._cas.returning(*self.table.c).cte("claimed")
        else:
            claimed = self._cas.returning(literal_column("1")).cte("claimed")
        history = recorded_after(claimed).returning(statuses.c.id, statuses.c.created_at).cte("history")
        loaded = aliased(self.mapper.class_, claimed) if load else null()
        statement = select(loaded, history.c.id, history.c.created_at).select_from(claimed).join(history, true())
        if alongside is not None:
            also = alongside.insert("postgresql", history.c.id)
            statement = statement.add_cte(also.returning(literal_column("1")).cte("alongside"))
        return statement

    def _alongside_statement(self, connection: Connection, alongside: Alongside) -> Insert:
        """``alongside``'s INSERT on its own, naming the history row ``:change_id`` (built once per thread)."""
        name = f"alongside_{alongside.kind}_{connection.dialect.name}"
        statement: Insert | None = getattr(self._per_thread, name, None)
        if statement is None:
            statement = alongside.insert(connection.dialect.name, bindparam("change_id", type_=BigInteger()))
            setattr(self._per_thread, name, statement)
        return statement

    def _fuses(self, session: Session, actions: Sequence[Any]) -> bool:
        return self._fusable and not actions and session.connection().dialect.name in _FUSING_DIALECTS

    def _claim_fused(
        self, session: Session, key: tuple[Any, ...], move: _Move, alongside: Alongside | None, *, load: bool
    ) -> tuple[Any, int, datetime, dict[str, Any]] | None:
        """The one-statement claim: the object (if ``load``), its history row's id, time and values.

        ``None``: not claimed. Without ``load`` the statement skips the ORM (an object costs a fair share of a
        callback's time).
        """
        name = ("claim" if alongside is None else f"claim_{alongside.kind}") + ("" if load else "_keys")
        statement = getattr(self._per_thread, name, None)
        if statement is None:
            statement = self._claiming_statement(alongside, load=load)
            setattr(self._per_thread, name, statement)
        row = self._history_row(
            move.object_id,
            move.source.state,
            move.target.state,
            move.transition,
            context=move.context,
            payload=move.payload,
            exception=move.exception,
            actor=move.actor,
        )
        params = {
            **{f"pk_{index}": value for index, value in enumerate(key)},
            "expected": move.source,
            "new": move.target,
            **prefixed(row),
            **(alongside.params() if alongside is not None else {}),
        }
        if load:
            found = session.execute(statement, params, execution_options={"populate_existing": True}).one_or_none()
        else:
            found = session.connection().execute(statement, params).one_or_none()
        if found is None:
            return None
        obj, change_id, created_at = found
        return obj, change_id, created_at, row

    def _write(self, session: Session, move: _Move) -> StatusChange:
        # Each try collects anew: what ``emit()`` is given is written with this try's history row only.
        with collecting(self.machine, self._emittable, self.redactor):
            return self._write_once(session, move)

    def _write_once(self, session: Session, move: _Move) -> StatusChange:
        connection = session.connection()
        if self._fuses(session, move.actions):
            return self._write_fused(connection, move)
        try:
            self._compare_and_set(connection, move)
        except OperationalError as exc:
            if is_sqlite_busy(exc) and _opened_by_caller(session):
                raise WriteConflict(
                    f"{self.machine} {move.object_id}: another writer committed while "
                    "your transaction was open; roll back, reload and try again."
                ) from exc
            raise
        attributes.set_committed_value(move.obj, self.attribute, move.target)
        return self._apply(session, move)

    def _apply(self, session: Session, move: _Move) -> StatusChange:
        """After the status is set in the database: before-hooks, actions, then history and outbox rows."""
        self._before(move.obj, move.source.state, move.target.state, move.transition)
        for action in move.actions:
            action(move.obj, move.context)
        if move.actions:
            session.flush()
        return self.record(
            session.connection(),
            move.object_id,
            move.source.state,
            move.target.state,
            move.transition,
            context=move.context,
            payload=move.payload,
            exception=move.exception,
            actor=move.actor,
        )

    def _write_fused(self, connection: Connection, move: _Move) -> StatusChange:
        """Compare-and-set and the history row in one statement; no row back means the status was stale."""
        row = self._history_row(
            move.object_id,
            move.source.state,
            move.target.state,
            move.transition,
            context=move.context,
            payload=move.payload,
            exception=move.exception,
            actor=move.actor,
        )
        written = connection.execute(self._cas_and_record, {**self._cas_params(move), **prefixed(row)}).first()
        if written is None:
            raise self._stale(move)
        attributes.set_committed_value(move.obj, self.attribute, move.target)
        self._before(move.obj, move.source.state, move.target.state, move.transition)
        return self._recorded(connection, written.id, written.created_at, row)

    def _before(self, obj: Any, source: str, target: str, transition: str) -> None:
        for hook in self._before_hooks:
            hook.before_transition(obj, source, target, transition)

    def _cas_params(self, move: _Move) -> dict[str, Any]:
        identity = self.mapper.primary_key_from_instance(move.obj)
        params: dict[str, Any] = {f"pk_{index}": value for index, value in enumerate(identity)}
        params["expected"], params["new"] = move.source, move.target
        return params

    def _stale(self, move: _Move) -> StaleStatus:
        return StaleStatus(
            machine=self.machine, object_id=move.object_id, expected=move.source.state, transition=move.transition
        )

    def _compare_and_set(self, connection: Connection, move: _Move) -> None:
        if connection.execute(self._cas, self._cas_params(move)).rowcount != 1:
            raise self._stale(move)

    def record(
        self,
        connection: Connection,
        object_id: str,
        source: str | None,
        target: str,
        transition: str,
        *,
        context: Mapping[str, Any] | None = None,
        payload: Any = None,
        exception: BaseException | None = None,
        actor: str | None = None,
    ) -> StatusChange:
        """Write the history row and the outbox rows of one change (inside the caller's transaction)."""
        row = self._history_row(
            object_id, source, target, transition, context=context, payload=payload, exception=exception, actor=actor
        )
        written = connection.execute(INSERT_STATUS, row).one()
        return self._recorded(connection, written.id, written.created_at, row)

    def _history_row(
        self, object_id: str, source: str | None, target: str, transition: str, **details: Any
    ) -> dict[str, Any]:
        """``history_row`` for this machine; ``details``: its context, payload, exception and actor."""
        return history_row(
            self.redactor,
            machine=self.machine,
            model_type=self.model_type,
            object_id=object_id,
            source=source,
            target=target,
            transition=transition,
            **details,
        )

    def record_creations(self, connection: Connection, objects: Sequence[Any]) -> list[StatusChange]:
        """The history rows (and outbox rows) of newly inserted objects, in two statements for all of them."""
        rows = [self._history_row(self.object_id(obj), None, self.state_of(obj), CREATED) for obj in objects]
        written = connection.execute(INSERT_STATUSES, rows).all()
        change_ids = [change_id for change_id, _ in written]
        for (_, created_at), row in zip(written, rows, strict=True):
            row["created_at"] = aware(created_at)
        work = [
            item for change_id, row in zip(change_ids, rows, strict=True) for item in self._outbox_rows(change_id, row)
        ]
        if work:
            connection.execute(INSERT_OUTBOX, work)
        return [
            StatusChange(id=change_id, outbox_rows=len(self.plan.get(row["to_state"], ())), **row)
            for change_id, row in zip(change_ids, rows, strict=True)
        ]

    def _recorded(
        self, connection: Connection, change_id: int, created_at: datetime, row: dict[str, Any]
    ) -> StatusChange:
        """After the history row ``change_id`` is written at ``created_at``: the outbox rows of its target state.

        The outbox rows take the history row's time, the database's.
        """
        row["created_at"] = aware(created_at)
        work = self._outbox_rows(change_id, row)
        emissions = current_emissions()
        if emissions is not None and emissions.events:
            work += emitted_rows(emissions, self.emits, change_id, self.model_type, row)
            emissions.events.clear()
        if work:
            connection.execute(INSERT_OUTBOX, work)
        return StatusChange(id=change_id, outbox_rows=len(work), **row)

    def _outbox_rows(self, change_id: int, row: dict[str, Any]) -> list[dict[str, Any]]:
        return outbox_rows(self.plan.get(row["to_state"], ()), change_id, self.machine, self.model_type, row)

    # History ---------------------------------------------------------------------------------
    def history(self, obj: Any) -> list[StatusChange]:
        """Every status change of ``obj``, oldest first."""
        session = self._session(obj)
        return read_history(session.connection(), self.model_type, self.object_id(obj))
