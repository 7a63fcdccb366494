"""Bind a ``Flow`` to its model class: the status column's type, the initial status, creation history, methods."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import Connection, event, inspect
from sqlalchemy.orm import Mapper, Session, UOWTransaction, object_session

from engine.errors import NotBoundError, StatusAssignmentError
from engine.runtime.awaiting import in_async_session
from engine.runtime.hooks import queue_after_commit

if TYPE_CHECKING:
    from engine.runtime.changes import StatusChange
    from engine.runtime.flow import Flow
    from engine.statuses import StatusEnum


class Stateful:
    """Mixin for models driven by a machine. Its methods work once ``Statewright`` has bound the class."""

    __statewright_flow__: ClassVar[Flow | None] = None

    def _flow(self) -> Flow:
        flow = type(self).__statewright_flow__
        if flow is None:
            raise NotBoundError(
                f"{type(self).__name__} is not bound to a machine: create a Statewright whose "
                "machines name it as their model."
            )
        return flow

    def fire(self, name: str, /, *, actor: str | None = None, **context: Any) -> StatusChange:
        """Fire transition ``name`` with ``context`` for its guards and actions.

        Commits on its own when the session has no transaction open; otherwise it joins the open
        transaction (inside a savepoint) and is durable when that commits.

        Raises:
            TransitionNotAllowed: No transition ``name`` leaves the current state.
            GuardRejected: Its guard refused; ``guard`` names which.
            GuardUndecidable: Its guard expression could not be evaluated (e.g. a context key was not
                passed; ``missing`` names it). A code guard's own exception propagates instead.
            UnknownStatusError: The status column holds a value no state declares.
            StaleStatus: Another writer moved the object first.
        """
        return self._flow().fire(self, name, context, actor=actor)

    def can_fire(self, name: str, /, **context: Any) -> bool:
        """Whether ``fire(name, **context)`` would be allowed now (guards evaluated, nothing written).

        A guard expression that cannot be evaluated (a missing context key, ...) answers ``False``; a code
        guard that raises propagates its exception, as ``fire`` does.

        Raises:
            UnknownStatusError: The status column holds a value no state declares.
        """
        flow = self._flow()
        state = flow.state_of(self, name)
        return flow.compiled.why_not(state, name, self, context, flow.object_id(self)) is None

    def why_not(self, name: str, /, **context: Any) -> str | None:
        """Why ``name`` cannot fire now (which guard failed, or what is allowed), or ``None`` if it can.

        Raises:
            UnknownStatusError: The status column holds a value no state declares.
        """
        flow = self._flow()
        state = flow.state_of(self, name)
        return flow.compiled.why_not(state, name, self, context, flow.object_id(self))

    def available_transitions(self) -> list[str]:
        """Names of the transitions leaving the current state (guards not evaluated).

        Raises:
            UnknownStatusError: The status column holds a value no state declares.
        """
        return self._flow().available(self)

    def set_status(
        self,
        state: str | StatusEnum,
        /,
        *,
        payload: Any = None,
        exception: BaseException | None = None,
        actor: str | None = None,
    ) -> StatusChange:
        """Move to ``state`` along a declared transition, skipping guards (for tasks and endpoints)."""
        target = state if isinstance(state, str) else state.state
        return self._flow().set_status(self, target, payload=payload, exception=exception, actor=actor)

    def defibrillate(self, *, actor: str | None = None) -> StatusChange:
        """Restart from the state the current state's ``defibrillate`` names."""
        return self._flow().defibrillate(self, actor=actor)

    def touch(self, *, actor: str | None = None, **context: Any) -> StatusChange:
        """Re-enter the current state: a history row with transition ``touch`` (from and to the same state),
        and the state's events and work (tasks, endpoints, listeners, reactions) written to the outbox again.

        One transaction with the same compare-and-set as ``fire``; joins an open transaction as ``fire`` does.

        Raises:
            NotTouchable: The state is not marked ``touchable: true``.
            UnknownStatusError: The status column holds a value no state declares.
            StaleStatus: Another writer moved the object first.
        """
        return self._flow().touch(self, context, actor=actor)

    def history(self) -> list[StatusChange]:
        """Every status change of this object, oldest first (also for an object whose status is unknown)."""
        return self._flow().history(self)

    # For objects of an AsyncSession: the same methods, awaited (engine.runtime.awaiting) ---------------
    async def afire(self, name: str, /, *, actor: str | None = None, **context: Any) -> StatusChange:
        """``fire`` for an object of an ``AsyncSession``: the same transaction, checks and errors.

        Raises:
            NotBoundError: The object is in no ``AsyncSession``.
        """
        return await in_async_session(self, lambda: self.fire(name, actor=actor, **context))

    async def acan_fire(self, name: str, /, **context: Any) -> bool:
        """``can_fire`` for an object of an ``AsyncSession`` (a guard may load attributes)."""
        return await in_async_session(self, lambda: self.can_fire(name, **context))

    async def awhy_not(self, name: str, /, **context: Any) -> str | None:
        """``why_not`` for an object of an ``AsyncSession``."""
        return await in_async_session(self, lambda: self.why_not(name, **context))

    async def aset_status(
        self,
        state: str | StatusEnum,
        /,
        *,
        payload: Any = None,
        exception: BaseException | None = None,
        actor: str | None = None,
    ) -> StatusChange:
        """``set_status`` for an object of an ``AsyncSession``."""
        return await in_async_session(
            self, lambda: self.set_status(state, payload=payload, exception=exception, actor=actor)
        )

    async def adefibrillate(self, *, actor: str | None = None) -> StatusChange:
        """``defibrillate`` for an object of an ``AsyncSession``."""
        return await in_async_session(self, lambda: self.defibrillate(actor=actor))

    async def atouch(self, *, actor: str | None = None, **context: Any) -> StatusChange:
        """``touch`` for an object of an ``AsyncSession``."""
        return await in_async_session(self, lambda: self.touch(actor=actor, **context))

    async def ahistory(self) -> list[StatusChange]:
        """``history`` for an object of an ``AsyncSession``."""
        return await in_async_session(self, self.history)


class _Binding:
    """The listeners one binding installed, so rebinding the class can remove them."""

    def __init__(self, flow: Flow) -> None:
        self.flow = flow
        initial = flow.compiled.member_by_state[flow.compiled.spec.initial]
        attribute = flow.attribute

        def set_initial(target: Any, args: Any, kwargs: dict[str, Any]) -> None:
            kwargs.setdefault(attribute, initial)

        def record_creation(mapper: Mapper[Any], connection: Connection, target: Any) -> None:
            session = object_session(target)
            assert session is not None, "the unit of work inserts objects of a session"
            session.info.setdefault(CREATED_KEY, []).append((flow, target))

        def refuse_direct_assignment(target: Any, value: Any, old: Any, initiator: Any) -> None:
            # The engine writes the attribute with set_committed_value, which fires no event: only user code
            # assigning a stored object's status lands here. A new object may be given its first status.
            if inspect(target).has_identity:
                raise StatusAssignmentError(
                    f"{flow.machine} {flow.object_id(target)}: the status attribute {attribute!r} is not "
                    f"assigned directly (that would skip its history row, the compare-and-set and the work the "
                    f"state starts). Use fire(...), set_status(...) or defibrillate()."
                )

        self.listeners = [("init", set_initial), ("after_insert", record_creation)]
        #: Attribute events, on the status attribute rather than on the class.
        self.attribute_listeners = [("set", refuse_direct_assignment)] if flow.compiled.spec.protected else []


#: Key in ``Session.info`` of the objects a flush inserted, whose creation history is written after it.
CREATED_KEY = "statewright.created"


@event.listens_for(Session, "after_flush")
def _record_creations(session: Session, flush_context: UOWTransaction) -> None:
    """One batch per machine, instead of a round trip per inserted object."""
    created = session.info.pop(CREATED_KEY, None)
    if not created:
        return
    by_flow: defaultdict[Flow, list[Any]] = defaultdict(list)
    for flow, obj in created:
        by_flow[flow].append(obj)
    connection = session.connection()
    for flow, objects in by_flow.items():
        for change in flow.record_creations(connection, objects):
            queue_after_commit(session, flow.hooks, change)


@event.listens_for(Session, "before_flush")
@event.listens_for(Session, "after_soft_rollback")
def _forget_creations(session: Session, *args: object) -> None:
    """A flush that failed after some inserts leaves objects that were never written: forget them."""
    session.info.pop(CREATED_KEY, None)


_BINDINGS: dict[type, _Binding] = {}


def bind_flow(model: type, flow: Flow) -> None:
    """Make ``model`` move by ``flow``: replaces an earlier binding of the same class."""
    unbind(model)
    binding = _Binding(flow)
    for name, listener in binding.listeners:
        event.listen(model, name, listener)
    for name, on_attribute in binding.attribute_listeners:
        event.listen(getattr(model, flow.attribute), name, on_attribute)
    _BINDINGS[model] = binding
    model.__statewright_flow__ = flow  # type: ignore[attr-defined]
    if "Status" not in model.__dict__ or isinstance(model.__dict__["Status"], type):
        model.Status = flow.compiled.status_enum  # type: ignore[attr-defined]


def unbind(model: type) -> None:
    """Remove a class's binding (its listeners and its flow), if any."""
    binding = _BINDINGS.pop(model, None)
    if binding is not None:
        for name, listener in binding.listeners:
            event.remove(model, name, listener)
        for name, on_attribute in binding.attribute_listeners:
            event.remove(getattr(model, binding.flow.attribute), name, on_attribute)
        model.__statewright_flow__ = None  # type: ignore[attr-defined]


def flow_of(model: type) -> Flow:
    """The flow bound to ``model``."""
    binding = _BINDINGS.get(model)
    if binding is None:
        raise NotBoundError(f"{model.__name__} is not bound to a machine.")
    return binding.flow
