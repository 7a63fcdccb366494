"""The engine's actors (tasks, listeners, reactions) and how outbox rows become their messages.

Each message carries only an outbox row id; the actor reads the row, so a message is never out of
date, and re-checks the object's status before acting, so a duplicate delivery does nothing.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
from dramatiq import Actor, Broker
from dramatiq.middleware import CurrentMessage
from sqlalchemy import Select, select

from engine.compiler import import_path
from engine.errors import ConcurrencyError, EndpointError, TransitionError, UnknownStatusError, UnknownWork
from engine.faults import Fault, describe, fault_of, mark_handlers_own
from engine.orm.tables import outbox
from engine.runtime.flow import Flow
from engine.spec.model import EndpointSpec, ListenerSpec, ReactionSpec, Steps
from engine.work.claims import carry_on, claim_from_start, claimant, lease_for
from engine.work.declared import declared_work, unknown_work
from engine.work.endpoints import EndpointFailed, build_request, describe_request, describe_response, failure_of, send
from engine.work.gate import DatabaseGate
from engine.work.leases import Leases, add_lease_keeper
from engine.work.limits import Deadline, limit_of
from engine.work.recorder import add_failure_recorder
from engine.work.relay import Relay
from engine.work.replay import ChangeRecorder, Changes
from engine.work.tracebacks import add_traceback_masking

if TYPE_CHECKING:
    from engine.statewright import Statewright

log = logging.getLogger("engine.work")
T = TypeVar("T")

#: Queue used when the machine file names none.
DEFAULT_QUEUE = "statewright"
#: Kinds of outbox rows that need no message: their consumers have rows of their own.
SETTLED_WITHOUT_MESSAGE = ("event",)
#: Conflicts (lock timeout, deadlock, serialization failure) a delivery retries in its thread before it goes
#: back to the broker for ``CONFLICT_REQUEUE_MS``, so that locked rows do not hold every worker thread.
CONFLICTS_IN_THREAD = 3
#: Milliseconds a delivery that kept conflicting waits on the broker before it runs again (no retry spent).
CONFLICT_REQUEUE_MS = 2_000


def _ms(duration: timedelta) -> int:
    return int(duration.total_seconds() * 1000)


class Work:
    """The actors of one ``Statewright``, declared on its broker, and the relay that feeds them.

    Args:
        app: The app whose machines define the work.
        broker: Where messages go.
    """

    def __init__(self, app: Statewright, broker: Broker, *, http_base_url: str | None = None,
                 http_transport: httpx.BaseTransport | None = None) -> None:
        self.app = app
        self.broker = broker
        self.http_base_url = http_base_url
        self.http_transport = http_transport
        self.actors: dict[tuple[str, str], Actor[Any, Any]] = {}
        #: ``task``, ``endpoint``, ``listener`` or ``reaction`` for each actor's name.
        self.kind_by_actor: dict[str, str] = {}
        #: Whether the database answers; every actor run waits for it (see ``engine.work.gate``).
        self.gate = DatabaseGate(app.engine, redactor=app.redactor, on_recovery=lambda: self.leases.renew())
        runners: dict[str, Callable[..., None]] = {
            "task": self._held(self.run_task), "endpoint": self._held(self.run_endpoint),
            "listener": self._held(self.run_listener), "reaction": self._held(self.run_reaction)}
        for compiled in app.machines.values():
            spec = compiled.spec
            queues = [("task", task.queue) for task in spec.tasks.values()]
            queues += [("endpoint", endpoint.queue) for endpoint in spec.endpoints.values()]
            queues += [("listener", listener.queue) for listener in spec.listeners]
            queues += [("reaction", reaction.queue) for reaction in spec.reactions]
            for kind, queue in queues:
                key = (kind, queue or DEFAULT_QUEUE)
                if key not in self.actors:
                    # `throws`: work the machines no longer declare fails at once instead of being retried.
                    self.actors[key] = Actor(runners[kind], broker=broker, actor_name=f"statewright_{kind}_{key[1]}",
                                             queue_name=key[1], priority=0, options={"throws": (UnknownWork,)})
                    self.kind_by_actor[self.actors[key].actor_name] = kind
        self.relay = Relay(app.engine, self.send)
        #: The leases this process's deliveries hold, renewed while their handlers run.
        self.leases = Leases(app.engine, app.settings.lease)
        add_failure_recorder(broker, self)
        add_traceback_masking(broker, app.redactor)
        add_lease_keeper(broker, self.leases)

    # Sending ---------------------------------------------------------------------------------
    def send(self, row: Any) -> bool:
        """Put an outbox row's message on the broker; see ``Relay``."""
        if row.kind in SETTLED_WITHOUT_MESSAGE:
            return True
        work = declared_work(self.app, row)
        options: dict[str, Any] = {"max_retries": work.retries, "min_backoff": _ms(work.backoff.minimum),
                                   "max_backoff": _ms(work.backoff.maximum)}
        # The task runner needs nothing else from the row: it skips reading it back.
        args = (row.id, row.machine, row.name, row.model_id) if row.kind == "task" else (row.id,)
        self.actors[(row.kind, work.queue or DEFAULT_QUEUE)].send_with_options(args=args, **options)
        return True

    # Running ---------------------------------------------------------------------------------
    def _held(self, runner: Callable[..., None]) -> Callable[..., None]:
        """``runner`` run through the gate: a database fault never reaches Dramatiq, so it spends no retry.

        An outage holds the delivery until the database answers; a delivery that keeps conflicting (a row
        locked by someone else) goes back to the broker for a while, its retries untouched.
        """
        @functools.wraps(runner)
        def held(*args: Any) -> None:
            try:
                self.gate.run(lambda: runner(*args), max_conflicts=CONFLICTS_IN_THREAD)
            except Exception as error:
                if fault_of(error) is Fault.CONFLICT and _requeue(self.broker, error):
                    return
                raise

        return held

    def _handler(self, deadline: Deadline, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run the user's code under its time limit; a database fault it raises while our database answers is
        its own (another database, its own transaction): that spends a retry instead of holding the delivery."""
        try:
            return deadline.run(function, *args, **kwargs)
        except Exception as error:
            if fault_of(error) is not None and self.gate.answers():
                mark_handlers_own(error)
            raise

    def _row(self, outbox_id: int) -> Any:
        with self.app.engine.connect() as connection:
            row = connection.execute(select(outbox).where(outbox.c.id == outbox_id)).one_or_none()
        if row is None:
            log.warning("outbox row %s no longer exists; nothing to do", outbox_id)
        return row

    def _load(self, session: Any, flow: Flow, model_id: str) -> Any:
        return session.get(flow.mapper.class_, flow.key_of(model_id))

    def run_task(self, outbox_id: int, machine: str, name: str, model_id: str) -> None:
        """Move the object to ``processing``, run the handler, move it to ``complete`` (or ``error``)."""
        flow = self.app.flows.get(machine)
        task = flow.compiled.spec.tasks.get(name) if flow is not None else None
        if flow is None or task is None:
            raise unknown_work(self.app, machine, "task", name)
        with self.app.session() as session:
            obj = self._claim_by_key(session, flow, task.steps, model_id, outbox_id)
            if obj is None:
                return
            handler = import_path(task.run)
            recorder = ChangeRecorder(session, skip=frozenset({flow.attribute}))
            try:
                with recorder:
                    result = self._handler(Deadline(limit_of(task), f"task {name}"), handler, obj)
            except Exception as exc:
                session.rollback()
                if fault_of(exc) is not None or not _last_attempt():
                    raise  # the gate holds a database fault; Dramatiq retries the rest with the task's backoff
                self._settle_after_work(session, flow, model_id, Changes(), task.steps.error, exception=exc)
                return
            self._settle_after_work(session, flow, model_id, recorder.changes, task.steps.complete,
                                    payload=result if isinstance(result, Mapping) else None)

    def _claim_by_key(self, session: Any, flow: Flow, steps: Steps, model_id: str, outbox_id: int) -> Any | None:
        """Claim in one round trip when the object is where the work starts; otherwise load it and decide."""
        if steps.processing is not None and len(flow.mapper.primary_key) == 1:
            (key,) = flow.key_of(model_id)
            lease = lease_for(outbox_id, self.leases.duration)
            claimed = flow.claim(session, key, steps.when, steps.processing, actor=claimant(), lease=lease)
            if claimed is not None:
                if lease is not None:
                    self.leases.hold(lease)
                return claimed
        obj = self._load(session, flow, model_id)
        return obj if obj is not None and self._claim(obj, flow, steps, outbox_id) else None

    def _claim(self, obj: Any, flow: Flow, steps: Steps, outbox_id: int, payload: Any = None) -> bool:
        """Whether this delivery should do the work (then it holds the claim's lease); see ``engine.work.claims``."""
        try:
            state = flow.state_of(obj, f"-> {steps.processing or steps.when}")
        except UnknownStatusError as unknown:  # a hand-written value: nothing the work can do
            log.warning("skipped: %s", unknown)
            return False
        if steps.processing is None:
            return state == steps.when
        lease = lease_for(outbox_id, self.leases.duration)
        if state == steps.when:
            claimed = claim_from_start(flow, obj, steps.processing, payload=payload, lease=lease)
        else:
            # Left in `processing`: by this message (a retry, a redelivery) it carries on; by another, it waits
            # for that lease to run out before it takes over, so a handler never runs twice side by side.
            claimed = state == steps.processing and carry_on(self.app.engine, flow, obj, lease)
        if claimed and lease is not None:
            self.leases.hold(lease)
        return claimed

    def _settle_after_work(self, session: Any, flow: Flow, model_id: str, changes: Changes, state: str,
                           **details: Any) -> None:
        """Settle once the handler ran (or the endpoint answered), never running it again for a database fault.

        The first try commits in the handler's own session. If the database fails it, the handler's
        changes are replayed in a fresh session once the database answers, and the settle is tried again:
        compare-and-set makes that a no-op if the first commit did land after all. Changes that cannot be
        replayed fall back to running the whole delivery again, with a line saying why.
        """
        started = time.monotonic()
        try:
            obj = self._load(session, flow, model_id)
            if obj is not None:
                self._settle(obj, state, **details)
            return
        except Exception as error:
            fault = fault_of(error)
            if fault is None:
                raise
            session.rollback()
            if changes.unreplayable is not None:
                log.warning("%s %s: settling failed (%s) and %s, which cannot be replayed: running the work again",
                            flow.machine, model_id, describe(error), changes.unreplayable)
                raise
            if fault is Fault.OUTAGE:
                self.gate.report(error, started=started)

        def settle_again() -> None:
            with self.app.session() as fresh:
                changes.apply(fresh)
                obj = self._load(fresh, flow, model_id)
                if obj is not None:
                    self._settle(obj, state, **details)

        self.gate.run(settle_again)

    @staticmethod
    def _settle(obj: Any, state: str, **details: Any) -> None:
        try:
            obj.set_status(state, **details)
        except (ConcurrencyError, TransitionError) as moved:
            log.info("not moving %r to %s: %s", obj, state, moved)

    def run_endpoint(self, outbox_id: int) -> None:
        """Claim the object, call the endpoint, record request and response, and settle the status.

        2xx completes (3xx too with ``accept_redirects``); 3xx and 4xx are an error at once, and so are a
        refused placeholder value and a response over ``max_response_body``; connection errors, timeouts
        and 5xx are retried with the endpoint's backoff and become an error after the last retry.
        """
        row = self._row(outbox_id)
        if row is None:
            return
        endpoint = declared_work(self.app, row)
        assert isinstance(endpoint, EndpointSpec)
        flow = self.app.flows[row.machine]
        steps = endpoint.steps
        with self.app.session() as session, httpx.Client(transport=self.http_transport,
                                                          timeout=endpoint.timeout.total_seconds()) as client:
            obj = self._load(session, flow, row.model_id)
            if obj is None:
                return
            request = self._request(client, endpoint, obj, flow, row)
            if request is None:
                return
            redactor, limits = self.app.redactor, self.app.body_limits
            sent = {"request": describe_request(request, redactor, limit=limits.max_stored_body)}
            if not self._claim(obj, flow, steps, row.id, payload=sent):
                return
            answer = sent
            recorder = ChangeRecorder(session, skip=frozenset({flow.attribute}))
            settle = functools.partial(self._settle_after_work, session, flow, row.model_id, recorder.changes)
            try:
                with recorder:
                    deadline = Deadline(limit_of(endpoint), f"endpoint {endpoint.name}")
                    response = self._handler(deadline, send, client, request, endpoint=endpoint,
                                             limit=limits.max_response_body, redactor=redactor)
                    answer = {**sent, "response": describe_response(response, redactor, limit=limits.max_stored_body)}
                    failure = failure_of(response, endpoint, redactor)
                    if failure is not None:
                        raise failure
                    if endpoint.response:
                        self._handler(deadline, import_path(endpoint.response), response, obj)
            except (EndpointFailed, EndpointError) as failure:
                self._fail(settle, steps, failure, payload=answer)
                return
            except Exception as exc:  # transport errors and the response hook's own failures
                session.rollback()
                if fault_of(exc) is not None or not _last_attempt():
                    raise
                self._settle_after_work(session, flow, row.model_id, Changes(), steps.error, payload=sent,
                                        exception=exc)
                return
            settle(steps.complete, payload=answer)

    def _request(self, client: httpx.Client, endpoint: EndpointSpec, obj: Any, flow: Flow, row: Any
                 ) -> httpx.Request | None:
        """The endpoint's request; ``None`` when a placeholder's value was refused (the object is then in error)."""
        hook = f"endpoint {endpoint.name}'s payload hook"
        payload = import_path(endpoint.payload) if endpoint.payload else None
        body = self._handler(Deadline(limit_of(endpoint), hook), payload, obj) if payload else None
        try:
            return build_request(client, endpoint, obj, body=body, base_url=self.http_base_url,
                                 idempotency_key=f"statewright-{row.id}", context=row.message.get("context") or {})
        except EndpointError as refused:  # a value that would change the path: never sent, never retried
            if self._claim(obj, flow, endpoint.steps, row.id):
                self._settle(obj, endpoint.steps.error, exception=refused)
            return None

    @staticmethod
    def _fail(settle: Callable[..., None], steps: Steps, failure: Exception, *, payload: Any) -> None:
        """Record a failed call, or raise it for Dramatiq to retry (a 5xx answer before the last attempt)."""
        retried = isinstance(failure, EndpointFailed) and failure.response.status_code >= 500
        if retried and not _last_attempt():
            raise failure
        settle(steps.error, payload=payload, exception=failure)

    def run_listener(self, outbox_id: int) -> None:
        """Call the listener with the event's message."""
        row = self._row(outbox_id)
        if row is None:
            return
        listener = declared_work(self.app, row)
        assert isinstance(listener, ListenerSpec)
        self._handler(Deadline(limit_of(listener), f"listener {row.name}"), import_path(listener.run), row.message)

    def run_reaction(self, outbox_id: int) -> None:
        """Fire the reaction's transition on every object its selector returns; objects that cannot move are skipped."""
        row = self._row(outbox_id)
        if row is None:
            return
        reaction = declared_work(self.app, row)
        assert isinstance(reaction, ReactionSpec)
        selector = import_path(reaction.select)
        with self.app.session() as session:
            self._handler(Deadline(limit_of(reaction), f"reaction {row.name}"), self._react, session, reaction, row,
                          selector)

    @staticmethod
    def _react(session: Any, reaction: ReactionSpec, row: Any, selector: Callable[..., Any]) -> None:
        selected = selector(row.message)
        objects: Iterable[Any] = session.scalars(selected).all() if isinstance(selected, Select) else selected
        for obj in objects:
            try:
                obj.fire(reaction.fire, event=row.message)
            except (TransitionError, ConcurrencyError) as refused:
                log.info("reaction %s skipped %r: %s", row.name, obj, refused)


def _requeue(broker: Broker, error: BaseException) -> bool:
    """Send the current message again in ``CONFLICT_REQUEUE_MS``, as it is (same id, retries untouched).

    The same message id keeps the claim it may have made its own (``claimed_by_me``). Returns False
    outside a worker (nothing to requeue).
    """
    message = CurrentMessage.get_current_message()
    if message is None:
        return False
    log.info("message %s kept conflicting (%s); running it again in %d ms", message.message_id, describe(error),
             CONFLICT_REQUEUE_MS)
    broker.enqueue(message, delay=CONFLICT_REQUEUE_MS)
    return True


def _last_attempt() -> bool:
    message = CurrentMessage.get_current_message()
    if message is None:
        return True
    return int(message.options.get("retries", 0)) >= int(message.options.get("max_retries", 0))
