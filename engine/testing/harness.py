"""``FlowTest``: one app on a temporary SQLite database and the in-process broker, driven by a test."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from queue import Empty
from typing import Any

import httpx
from dramatiq import Message
from dramatiq.broker import MessageProxy
from dramatiq.brokers.stub import StubBroker
from dramatiq.common import dq_name, q_name
from sqlalchemy import func, select

from engine.migrations.upgrade import upgrade
from engine.orm.tables import statuses
from engine.runtime.sweeps import sweep_timeouts
from engine.statewright import Statewright
from engine.testing.clock import FakeClock

#: Where endpoints with a path URL are sent (never reached: ``stub_endpoint`` answers).
BASE_URL = "http://statewright.test"
#: Messages ``drain`` runs before it decides the work does not end.
DEFAULT_STEPS = 1000


class DrainLimitExceeded(AssertionError):
    """``drain`` ran its step limit and work was still queued: a loop between reactions, or retries forever."""


@dataclass
class _Stub:
    pattern: re.Pattern[str]
    method: str
    status: int
    json: Any
    headers: dict[str, str]
    calls: list[httpx.Request]


class FlowTest:
    """An app for one test: every machine in ``machines`` on a SQLite file in ``folder``, the memory broker.

    Args:
        machines: A machine file or a folder of them (its models must import).
        folder: Where the database goes (pytest's ``tmp_path``).
        clock: The clock ``sweep`` and ``drain`` go by; a new ``FakeClock`` by default.
    """

    def __init__(self, machines: str | Path, folder: Path, *, clock: FakeClock | None = None) -> None:
        self.clock = clock or FakeClock()
        self._stubs: dict[str, _Stub] = {}
        self.unanswered: list[httpx.Request] = []
        self.app = Statewright.from_path(
            machines,
            database_url=f"sqlite:///{folder / 'statewright-test.db'}",
            broker_url="memory://",
            http_base_url=BASE_URL,
            http_transport=httpx.MockTransport(self._answer),
        )
        upgrade(self.app.engine)
        for metadata in {flow.mapper.class_.metadata for flow in self.app.flows.values()}:
            metadata.create_all(self.app.engine)
        self.session = self.app.sessionmaker()
        self._first_change = self._last_change_id()

    # Objects ---------------------------------------------------------------------------------
    def add(self, obj: Any) -> Any:
        """Add ``obj`` in the test's session and commit (its creation is recorded); returns it."""
        self.session.add(obj)
        self.session.commit()
        return obj

    def refresh(self, obj: Any) -> Any:
        """``obj`` as the database has it now (work ran in other sessions); returns it."""
        self.session.refresh(obj)
        return obj

    # Work ------------------------------------------------------------------------------------
    def drain(self, *, max_steps: int = DEFAULT_STEPS) -> int:
        """Run the queued work in this thread until none is due: tasks, endpoints, listeners, reactions, and the
        retries whose backoff has passed by ``clock``. Returns how many messages ran.

        Raises:
            DrainLimitExceeded: ``max_steps`` messages ran and more were due (the message names them).
            AssertionError: An endpoint was called that no ``stub_endpoint`` answers.
        """
        broker = self.app.broker
        assert isinstance(broker, StubBroker)
        steps = 0
        while (message := self._next_due(broker)) is not None:
            if steps >= max_steps:
                waiting = [message.actor_name, *self._queued_actors(broker)]
                raise DrainLimitExceeded(
                    f"drain(max_steps={max_steps}) ran {steps} messages and work is still due: {', '.join(waiting)}. "
                    "A loop between reactions or listeners? Raise max_steps if the work really is that long."
                )
            self._process(broker, message)
            steps += 1
        if self.unanswered:
            calls = ", ".join(f"{r.method} {r.url}" for r in self.unanswered)
            self.unanswered.clear()
            raise AssertionError(f"endpoint calls no stub_endpoint() answers: {calls}")
        self.session.expire_all()  # the work changed rows in its own sessions
        return steps

    def sweep(self) -> int:
        """Move every object stuck past its state's timeout by ``clock``; returns how many moved."""
        moved = 0
        for flow in self.app.flows.values():
            moved += sweep_timeouts(flow, self.app.sessionmaker, now=self.clock.now()).moved
        self.app.sweep_outbox()
        self.session.expire_all()
        return moved

    def stub_endpoint(
        self, name: str, *, status: int = 200, json: Any = None, headers: dict[str, str] | None = None
    ) -> list[httpx.Request]:
        """Answer every call of endpoint ``name`` (of any machine) with ``status`` and the ``json`` body.

        Returns:
            The list the calls are appended to, to look at what was sent.

        Raises:
            KeyError: No machine declares an endpoint ``name``.
        """
        endpoint = next(
            (e for compiled in self.app.machines.values() for e in compiled.spec.endpoints.values() if e.name == name),
            None,
        )
        if endpoint is None:
            declared = sorted({e for c in self.app.machines.values() for e in c.spec.endpoints})
            raise KeyError(f"no endpoint {name!r}; the machines declare {declared}")
        url = endpoint.url if "://" in endpoint.url else BASE_URL + endpoint.url
        pattern = re.compile(re.sub(r"\\\{[^}]*\\\}", "[^/?&]+", re.escape(url)) + "$")
        stub = _Stub(pattern, endpoint.method, status, json, dict(headers or {}), [])
        self._stubs[name] = stub
        return stub.calls

    # Assertions ------------------------------------------------------------------------------
    def assert_path(self, obj: Any, states: Sequence[str]) -> None:
        """The object went through exactly ``states``, oldest first (its creation's state included).

        Raises:
            AssertionError: Saying the path it took, and where it left the expected one.
        """
        taken = [change.to_state for change in obj.history()]
        if taken != list(states):
            where = next((i for i, (a, b) in enumerate(zip(taken, states, strict=False)) if a != b), None)
            at = where if where is not None else min(len(taken), len(states))
            raise AssertionError(
                f"{type(obj).__name__} {obj.history()[0].model_id if taken else '?'} went "
                f"{' -> '.join(taken) or '(nowhere)'}\n  expected {' -> '.join(states)}\n  first difference at "
                f"step {at + 1}"
            )

    def assert_emitted(self, event: str, *, times: int | None = None) -> None:
        """Moves since this test began entered a state that emits ``event`` (``times``: exactly so often).

        Raises:
            AssertionError: Listing the events that were emitted.
        """
        emitted = self.emitted()
        count = emitted.count(event)
        if count == 0 or (times is not None and count != times):
            wanted = "at least once" if times is None else f"{times} times"
            raise AssertionError(
                f"{event!r} was emitted {count} times, expected {wanted}; emitted: {', '.join(emitted) or 'nothing'}"
            )

    def emitted(self) -> list[str]:
        """The events of the states entered since this test began, in order (a state's ``events``)."""
        query = select(statuses.c.machine, statuses.c.to_state).where(statuses.c.id > self._first_change)
        with self.app.engine.connect() as connection:
            rows = connection.execute(query.order_by(statuses.c.id)).all()
        return [
            event
            for machine, state in rows
            if machine in self.app.machines
            for event in self.app.machines[machine].spec.states[state].events
        ]

    def _last_change_id(self) -> int:
        with self.app.engine.connect() as connection:
            return int(connection.scalar(select(func.coalesce(func.max(statuses.c.id), 0))) or 0)

    def close(self) -> None:
        """Close the session and the app."""
        self.session.close()
        self.app.close()

    # Inside ----------------------------------------------------------------------------------
    def _answer(self, request: httpx.Request) -> httpx.Response:
        for stub in self._stubs.values():
            if stub.method == request.method and stub.pattern.match(str(request.url)):
                stub.calls.append(request)
                return httpx.Response(stub.status, json=stub.json, headers=stub.headers)
        self.unanswered.append(request)
        return httpx.Response(599, text="statewright.testing: no stub_endpoint() answers this call")

    def _next_due(self, broker: StubBroker) -> Message[Any] | None:
        for name in sorted(broker.queues):
            queue = broker.queues[name]
            if name.endswith(".DQ"):
                continue
            delayed = broker.queues[dq_name(name)]
            self._release_due(delayed, broker)
            try:
                return Message.decode(queue.get_nowait())
            except Empty:
                continue
        return None

    def _release_due(self, delayed: Any, broker: StubBroker) -> None:
        """Delayed messages (retries) due by the clock go to their queue; the others wait."""
        waiting = []
        while True:
            try:
                data = delayed.get_nowait()
            except Empty:
                break
            message = Message.decode(data)
            if message.options.get("eta", 0) <= self.clock.millis():
                broker.queues[q_name(message.queue_name)].put(
                    message.copy(queue_name=q_name(message.queue_name)).encode()
                )
            else:
                waiting.append(data)
            delayed.task_done()
        for data in waiting:
            delayed.put(data)

    def _queued_actors(self, broker: StubBroker) -> list[str]:
        names = []
        for name, queue in sorted(broker.queues.items()):
            if not name.endswith(".DQ"):
                names += [Message.decode(data).actor_name for data in list(queue.queue)]
        return names

    def _process(self, broker: StubBroker, message: Message[Any]) -> None:
        """What a Dramatiq worker thread does with one message: middleware around the actor, in this thread."""
        proxy = MessageProxy(message)
        try:
            broker.emit_before("process_message", proxy)
            result = None
            if not proxy.failed:
                result = broker.get_actor(message.actor_name)(*message.args, **message.kwargs)
            broker.emit_after("process_message", proxy, result=result)
        except BaseException as error:  # noqa: BLE001 - as the worker: the Retries middleware decides
            proxy.stuff_exception(error)
            broker.emit_after("process_message", proxy, exception=error)
        finally:
            broker.queues[q_name(message.queue_name)].task_done()
            if proxy.failed:
                broker.dead_letters_by_queue[q_name(message.queue_name)].append(proxy)
