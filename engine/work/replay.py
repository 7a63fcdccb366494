"""What a handler changed in its session, kept so the settle can be committed again without running it again.

A task's handler changes its object (and maybe others) in the worker's session; the settle commits those
changes with the move to ``complete``. If that commit fails because the database went away, running the
handler again would repeat its side effects. Instead ``ChangeRecorder`` watches the handler run and keeps
its ORM changes (column values of changed objects, pending new objects, deletions); ``Changes.apply``
puts them into a fresh session for the next settle.

Some changes cannot be replayed that way: relationship collections, a new object flushed before the
handler returned (its key came from a transaction that is gone), and statements the handler executed
itself (an ``update()``, raw SQL). The recorder notices them and says why (``Changes.unreplayable``);
the worker then runs the handler again, as before this existed.
"""

from __future__ import annotations

import threading
from contextvars import ContextVar
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from sqlalchemy import Connection, event, inspect
from sqlalchemy.orm import Session, attributes

#: Statement openings a handler may execute itself and still be replayed (reads).
READING_STATEMENTS = ("SELECT", "SHOW")


@dataclass
class Changes:
    """A handler's ORM changes, by object identity; see the module."""

    #: (model class, primary key) → column attribute name → new value.
    updates: dict[tuple[type, tuple[Any, ...]], dict[str, Any]] = field(default_factory=dict)
    #: New objects: their class and the column values set on them.
    inserts: list[tuple[type, dict[str, Any]]] = field(default_factory=list)
    #: Deleted objects: class and primary key.
    deletes: list[tuple[type, tuple[Any, ...]]] = field(default_factory=list)
    #: Why the changes cannot be replayed, or ``None`` if they can.
    unreplayable: str | None = None

    def refuse(self, why: str) -> None:
        """Mark the changes unreplayable (the first reason stays)."""
        if self.unreplayable is None:
            self.unreplayable = why

    def apply(self, session: Session) -> None:
        """Make the same changes in ``session`` (not flushed): updates, then new objects, then deletions."""
        for (model, key), values in self.updates.items():
            changed: Any = session.get(model, key)
            if changed is not None:
                for name, value in values.items():
                    setattr(changed, name, value)
        for model, values in self.inserts:
            created: Any = inspect(model).class_manager.new_instance()
            for name, value in values.items():
                setattr(created, name, value)
            session.add(created)
        for model, key in self.deletes:
            deleted: Any = session.get(model, key)
            if deleted is not None:
                session.delete(deleted)


#: The recorder running in this thread (or task), if any: what the process-wide listeners report to.
_recording: ContextVar[ChangeRecorder | None] = ContextVar("statewright_recording", default=None)
_installed = threading.Lock()
_listening = False


class ChangeRecorder:
    """Records what the code run inside ``with ChangeRecorder(session, skip=...) as recorder`` changes.

    The session listeners are installed once per process, on the ``Session`` class, and report to the
    recorder running in the current thread (outside a recording they cost a context-variable lookup):
    listening on each session anew cost a worker about a twentieth of its time per object. Statements are
    watched on the connections the handler's session begins while recording, so only a handler that
    touches the database pays for that.

    Args:
        session: The handler's session.
        skip: Attribute names never replayed (the status column: the settle moves it).
    """

    def __init__(self, session: Session, *, skip: frozenset[str] = frozenset()) -> None:
        self.session = session
        self.skip = skip
        self.changes = Changes()
        self._connections: list[Connection] = []
        self._flushing = False

    def __enter__(self) -> ChangeRecorder:
        _listen_once()
        if _recording.get() is not None:
            raise RuntimeError("a ChangeRecorder is already recording in this thread")
        self._token = _recording.set(self)
        if self.session.in_transaction():
            self._watch(self.session.connection())
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        _recording.reset(self._token)
        for connection in self._connections:
            event.remove(connection, "before_cursor_execute", self._before_cursor_execute)
        # Also after an exception: an endpoint's refused answer still settles with what its hook changed.
        self._collect(self.session, final=True)

    # Events (from the process-wide listeners below) --------------------------------------------
    def _before_flush(self) -> None:
        self._flushing = True
        self._collect(self.session, final=False)

    def _after_flush(self) -> None:
        self._flushing = False

    def _watch(self, connection: Connection) -> None:
        # On the connection itself, and only while recording: a listener on every engine's connections made
        # each statement of the worker (claims, settles) go through SQLAlchemy's event dispatch.
        if connection not in self._connections:
            event.listen(connection, "before_cursor_execute", self._before_cursor_execute)
            self._connections.append(connection)

    def _before_cursor_execute(
        self, connection: Connection, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
    ) -> None:
        if not self._flushing and not statement.lstrip().upper().startswith(READING_STATEMENTS):
            self.changes.refuse(f"the handler executed a statement itself ({statement.split(None, 1)[0]})")

    # Collecting ------------------------------------------------------------------------------
    def _collect(self, session: Session, *, final: bool) -> None:
        for obj in session.dirty:
            self._collect_update(obj)
        for obj in session.new:
            if not final:
                self.changes.refuse(f"the handler flushed a new {type(obj).__name__} before it returned")
            self._collect_insert(obj)
        for obj in session.deleted:
            state = attributes.instance_state(obj)
            if state.identity is not None:
                self.changes.deletes.append((type(obj), tuple(state.identity)))

    def _collect_update(self, obj: Any) -> None:
        # ``committed_state`` holds exactly the attributes changed since the object was loaded (their old
        # values); reading it, rather than every attribute's history, keeps this cheap for wide models.
        state = attributes.instance_state(obj)
        if state.identity is None or not state.committed_state:
            return
        mapper = state.mapper
        changed = state.committed_state
        values = self.changes.updates.setdefault((type(obj), tuple(state.identity)), {})
        for relationship in mapper.relationships:
            if relationship.key in changed:
                self.changes.refuse(f"the handler changed the relationship {type(obj).__name__}.{relationship.key}")
        for key in changed:
            if key not in self.skip and key in mapper.column_attrs and key in state.dict:
                values[key] = state.dict[key]

    def _collect_insert(self, obj: Any) -> None:
        state = attributes.instance_state(obj)
        for prop in state.mapper.relationships:
            if prop.key in state.dict and state.dict[prop.key]:
                self.changes.refuse(f"the handler set the relationship {type(obj).__name__}.{prop.key}")
        values = {prop.key: state.dict[prop.key] for prop in state.mapper.column_attrs if prop.key in state.dict}
        self.changes.inserts.append((type(obj), values))


def _listen_once() -> None:
    global _listening
    with _installed:
        if _listening:
            return
        event.listen(Session, "before_flush", _before_flush)
        event.listen(Session, "after_flush_postexec", _after_flush)
        event.listen(Session, "after_begin", _after_begin)
        _listening = True


def _recorder_of(session: Session) -> ChangeRecorder | None:
    recorder = _recording.get()
    return recorder if recorder is not None and recorder.session is session else None


def _before_flush(session: Session, context: Any, instances: Any) -> None:
    recorder = _recorder_of(session)
    if recorder is not None:
        recorder._before_flush()


def _after_flush(session: Session, context: Any) -> None:
    recorder = _recorder_of(session)
    if recorder is not None:
        recorder._after_flush()


def _after_begin(session: Session, transaction: Any, connection: Connection) -> None:
    recorder = _recorder_of(session)
    if recorder is not None:
        recorder._watch(connection)
