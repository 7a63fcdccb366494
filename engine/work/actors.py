"""The engine's actors (tasks, listeners, reactions) and how outbox rows become their messages.

Each message carries only an outbox row id; the actor reads the row, so a message is never out of
date, and re-checks the object's status before acting, so a duplicate delivery does nothing.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import timedelta
from typing import Any, TypeVar

import httpx
from dramatiq import Actor, Broker
from dramatiq.middleware import CurrentMessage
from sqlalchemy import Engine, Select, select
from sqlalchemy.orm import Session, sessionmaker

from engine.errors import (
    ConcurrencyError,
    EndpointError,
    EndpointFailed,
    TransitionError,
    UnknownStatusError,
    UnknownWork,
)
from engine.faults import Fault, describe, fault_of, mark_handlers_own
from engine.orm.tables import outbox
from engine.redaction import Redactor
from engine.runtime.flow import Flow
from engine.runtime.hooks import Hook, SkipReason
from engine.runtime.outbox import RECORDED_ONLY, WorkKind
from engine.spec.model import EndpointSpec, ListenerSpec, ReactionSpec, Steps, TaskSpec
from engine.work.claims import carry_on, claim_from_start, claimant, lease_for
from engine.work.endpoints import HttpSettings, build_request, describe_request, describe_response, failure_of, send
from engine.work.gate import DatabaseGate
from engine.work.handlers import DeclaredWork, WorkTable
from engine.work.leases import DEFAULT_LEASE, Leases, add_lease_keeper
from engine.work.limits import Deadline, limit_of
from engine.work.recorder import add_failure_recorder
from engine.work.relay import Relay
from engine.work.replay import ChangeRecorder, Changes
from engine.work.tracebacks import add_traceback_masking
from engine.work.watching import note_failure, note_skip, watched, watches_work

log = logging.getLogger("engine.work")
T = TypeVar("T")

#: Queue used when the machine file names none.
DEFAULT_QUEUE = "statewright"
#: Conflicts (lock timeout, deadlock, serialization failure) a delivery retries in its thread before it goes
#: back to the broker for ``CONFLICT_REQUEUE_MS``, so that locked rows do not hold every worker thread.
CONFLICTS_IN_THREAD = 3
#: Milliseconds a delivery that kept conflicting waits on the broker before it runs again (no retry spent).
CONFLICT_REQUEUE_MS = 2_000


def _ms(duration: timedelta) -> int:
    return int(duration.total_seconds() * 1000)


class Work:
    """The actors of one app's machines, declared on its broker, and the relay that feeds them.

    Args:
        table: The work the machines declare, its callables imported (``engine.work.handlers``).
        flows: The flow of each machine, by name. The app binds its models after building ``Work`` (their
            flows send through ``relay``), so this is the app's own mapping, filled by then.
        broker: Where messages go.
        engine: The database the outbox, the leases and the failure records are in.
        session_factory: Makes the sessions handlers' objects are loaded and moved in.
        redactor: Masks what failure records, tracebacks and logs keep.
        http: How endpoint calls are made.
        lease: How long a claim's lease lasts without renewal (``STATEWRIGHT_LEASE``; see ``engine.work.leases``).
    """

    def __init__(
        self,
        table: WorkTable,
        flows: Mapping[str, Flow],
        broker: Broker,
        *,
        engine: Engine,
        session_factory: sessionmaker[Session],
        redactor: Redactor,
        http: HttpSettings,
        lease: timedelta = DEFAULT_LEASE,
    ) -> None:
        self.table = table
        self.flows = flows
        self.broker = broker
        self.engine = engine
        self.session_factory = session_factory
        self.redactor = redactor
        self.http = http
        self.actors: dict[tuple[WorkKind, str], Actor[Any, Any]] = {}
        #: The kind of work each actor runs, by the actor's name.
        self.kind_by_actor: dict[str, WorkKind] = {}
        #: Whether the database answers; every actor run waits for it (see ``engine.work.gate``).
        self.gate = DatabaseGate(engine, redactor=redactor, on_recovery=lambda: self.leases.renew())
        self.hooks = ()
        #: What runs each kind of work: one actor per kind and queue, with this runner.
        self.runners: dict[WorkKind, Callable[..., None]] = {
            kind: self._held(kind, runner)
            for kind, runner in (
                (WorkKind.TASK, self.run_task),
                (WorkKind.ENDPOINT, self.run_endpoint),
                (WorkKind.LISTENER, self.run_listener),
                (WorkKind.REACTION, self.run_reaction),
            )
        }
        for work in table:
            self._declare(work.kind, work.spec.queue or DEFAULT_QUEUE)
        self.relay = Relay(engine, self.send)
        #: The leases this process's deliveries hold, renewed while their handlers run.
        self.leases = Leases(engine, lease)
        add_failure_recorder(broker, self)
        add_traceback_masking(broker, redactor)
        add_lease_keeper(broker, self.leases)

    def _declare(self, kind: WorkKind, queue: str) -> None:
        if (kind, queue) not in self.actors:
            # `throws`: work the machines no longer declare fails at once instead of being retried.
            actor: Actor[Any, Any] = Actor(
                self.runners[kind],
                broker=self.broker,
                actor_name=f"statewright_{kind.value}_{queue}",
                queue_name=queue,
                priority=0,
                options={"throws": (UnknownWork,)},
            )
            self.actors[(kind, queue)] = actor
            self.kind_by_actor[actor.actor_name] = kind

    # Sending ---------------------------------------------------------------------------------
    def send(self, row: Any) -> bool:
        """Put an outbox row's message on the broker; see ``Relay``."""
        if row.kind in RECORDED_ONLY:
            return True
        work = self.table.of_row(row).spec
        options: dict[str, Any] = {
            "max_retries": work.retries,
            "min_backoff": _ms(work.backoff.minimum),
            "max_backoff": _ms(work.backoff.maximum),
        }
        # The task runner needs nothing else from the row: it skips reading it back.
        args = (row.id, row.machine, row.name, row.model_id) if row.kind == WorkKind.TASK else (row.id,)
        self.actors[(WorkKind(row.kind), work.queue or DEFAULT_QUEUE)].send_with_options(args=args, **options)
        return True

    # Running ---------------------------------------------------------------------------------
    def _held(self, kind: str, runner: Callable[..., None]) -> Callable[..., None]:
        """``runner`` run through the gate: a database fault never reaches Dramatiq, so it spends no retry.

        An outage holds the delivery until the database answers; a delivery that keeps conflicting (a row
        locked by someone else) goes back to the broker for a while, its retries untouched.
        """

        def through_gate(args: tuple[Any, ...]) -> None:
            try:
                self.gate.run(lambda: runner(*args), max_conflicts=CONFLICTS_IN_THREAD)
            except Exception as error:
                if fault_of(error) is Fault.CONFLICT and _requeue(self.broker, error):
                    note_skip(SkipReason.REQUEUED)
                    return
                raise

        @functools.wraps(runner)
        def held(*args: Any) -> None:
            if not self._watching:  # decided once, when the hooks are set: most apps have no work hooks
                through_gate(args)
                return
            with watched(self.hooks, kind, args, self._row, _last_attempt):
                through_gate(args)

        return held

    @property
    def hooks(self) -> Sequence[Hook]:
        """Told about each delivery (``Hook.before_work`` …); the app sets its hooks here."""
        return self._hooks

    @hooks.setter
    def hooks(self, hooks: Sequence[Hook]) -> None:
        self._hooks = tuple(hooks)
        self._watching = watches_work(self._hooks)

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
        with self.engine.connect() as connection:
            row = connection.execute(select(outbox).where(outbox.c.id == outbox_id)).one_or_none()
        if row is None:
            log.warning("outbox row %s no longer exists; nothing to do", outbox_id)
            note_skip(SkipReason.GONE)
        return row

    def _load(self, session: Any, flow: Flow, model_id: str) -> Any:
        return session.get(flow.mapper.class_, flow.key_of(model_id))

    def run_task(self, outbox_id: int, machine: str, name: str, model_id: str) -> None:
        """Move the object to ``processing``, run the handler, move it to ``complete`` (or ``error``)."""
        work = self.table.find(machine, WorkKind.TASK, name)
        task, handler, flow = work.spec, work.run, self.flows[machine]
        assert isinstance(task, TaskSpec)
        assert handler is not None
        with self.session_factory() as session:
            obj = self._claim_by_key(session, flow, task.steps, model_id, outbox_id)
            if obj is None:
                return
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
            self._settle_after_work(
                session,
                flow,
                model_id,
                recorder.changes,
                task.steps.complete,
                payload=result if isinstance(result, Mapping) else None,
            )

    def _claim_by_key(self, session: Any, flow: Flow, steps: Steps, model_id: str, outbox_id: int) -> Any | None:
        """Claim in one round trip when the object is where the work starts; otherwise load it and decide."""
        if steps.processing is not None:
            lease = lease_for(outbox_id, self.leases.duration)
            claimed = flow.claim(
                session, flow.key_of(model_id), steps.when, steps.processing, actor=claimant(), alongside=lease
            )
            if claimed is not None:
                if lease is not None:
                    self.leases.hold(lease)
                return claimed
        obj = self._load(session, flow, model_id)
        if obj is None:
            note_skip(SkipReason.GONE)
            return None
        return obj if self._claim(obj, flow, steps, outbox_id) else None

    def _claim(self, obj: Any, flow: Flow, steps: Steps, outbox_id: int, payload: Any = None) -> bool:
        """Whether this delivery should do the work (then it holds the claim's lease); see ``engine.work.claims``."""
        try:
            state = flow.state_of(obj, f"-> {steps.processing or steps.when}")
        except UnknownStatusError as unknown:  # a hand-written value: nothing the work can do
            log.warning("skipped: %s", unknown)
            note_skip(SkipReason.UNKNOWN_STATUS)
            return False
        lease = lease_for(outbox_id, self.leases.duration)
        if steps.processing is None:
            claimed = state == steps.when
        elif state == steps.when:
            claimed = claim_from_start(flow, obj, steps.processing, payload=payload, lease=lease)
        elif state == steps.processing:
            # Left in `processing`: by this message (a retry, a redelivery) it carries on; by another, it waits
            # for that lease to run out before it takes over, so a handler never runs twice side by side.
            if not carry_on(self.engine, flow, obj, lease):
                note_skip(SkipReason.CLAIMED)
                return False
            claimed = True
        else:
            claimed = False
        if not claimed:
            note_skip(SkipReason.MOVED)
        elif lease is not None and steps.processing is not None:
            self.leases.hold(lease)
        return claimed

    def _settle_after_work(
        self, session: Any, flow: Flow, model_id: str, changes: Changes, state: str, **details: Any
    ) -> None:
        """Settle once the handler ran (or the endpoint answered), never running it again for a database fault.

        The first try commits in the handler's own session. If the database fails it, the handler's
        changes are replayed in a fresh session once the database answers, and the settle is tried again:
        compare-and-set makes that a no-op if the first commit did land after all. Changes that cannot be
        replayed fall back to running the whole delivery again, with a line saying why.
        """
        started = time.monotonic()
        if isinstance(details.get("exception"), BaseException):
            note_failure(details["exception"])
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
                log.warning(
                    "%s %s: settling failed (%s) and %s, which cannot be replayed: running the work again",
                    flow.machine,
                    model_id,
                    describe(error),
                    changes.unreplayable,
                )
                raise
            if fault is Fault.OUTAGE:
                self.gate.report(error, started=started)

        def settle_again() -> None:
            with self.session_factory() as fresh:
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
        work = self.table.of_row(row)
        endpoint = work.spec
        assert isinstance(endpoint, EndpointSpec)
        flow = self.flows[row.machine]
        steps = endpoint.steps
        with (
            self.session_factory() as session,
            httpx.Client(transport=self.http.transport, timeout=endpoint.timeout.total_seconds()) as client,
        ):
            obj = self._load(session, flow, row.model_id)
            if obj is None:
                note_skip(SkipReason.GONE)
                return
            request = self._request(client, work, obj, flow, row)
            if request is None:
                return
            redactor, limits = self.redactor, self.http.limits
            sent = {"request": describe_request(request, redactor, limit=limits.max_stored_body)}
            if not self._claim(obj, flow, steps, row.id, payload=sent):
                return
            answer = sent
            recorder = ChangeRecorder(session, skip=frozenset({flow.attribute}))
            settle = functools.partial(self._settle_after_work, session, flow, row.model_id, recorder.changes)
            try:
                with recorder:
                    deadline = Deadline(limit_of(endpoint), f"endpoint {endpoint.name}")
                    response = self._handler(
                        deadline,
                        send,
                        client,
                        request,
                        endpoint=endpoint,
                        limit=limits.max_response_body,
                        redactor=redactor,
                    )
                    answer = {**sent, "response": describe_response(response, redactor, limit=limits.max_stored_body)}
                    failure = failure_of(response, endpoint, redactor)
                    if failure is not None:
                        raise failure
                    if work.response is not None:
                        self._handler(deadline, work.response, response, obj)
            except (EndpointFailed, EndpointError) as failure:
                self._fail(settle, steps, failure, payload=answer)
                return
            except Exception as exc:  # transport errors and the response hook's own failures
                session.rollback()
                if fault_of(exc) is not None or not _last_attempt():
                    raise
                self._settle_after_work(
                    session, flow, row.model_id, Changes(), steps.error, payload=sent, exception=exc
                )
                return
            settle(steps.complete, payload=answer)

    def _request(
        self, client: httpx.Client, work: DeclaredWork, obj: Any, flow: Flow, row: Any
    ) -> httpx.Request | None:
        """The endpoint's request; ``None`` when a placeholder's value was refused (the object is then in error)."""
        endpoint = work.spec
        assert isinstance(endpoint, EndpointSpec)
        hook = f"endpoint {endpoint.name}'s payload hook"
        payload = work.payload
        body = self._handler(Deadline(limit_of(endpoint), hook), payload, obj) if payload is not None else None
        try:
            return build_request(
                client,
                endpoint,
                obj,
                body=body,
                base_url=self.http.base_url,
                idempotency_key=f"statewright-{row.id}",
                context=row.message.get("context") or {},
            )
        except EndpointError as refused:  # a value that would change the path: never sent, never retried
            if self._claim(obj, flow, endpoint.steps, row.id):
                note_failure(refused)
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
        work = self.table.of_row(row)
        assert isinstance(work.spec, ListenerSpec)
        assert work.run is not None
        self._handler(Deadline(limit_of(work.spec), f"listener {row.name}"), work.run, row.message)

    def run_reaction(self, outbox_id: int) -> None:
        """Fire the reaction's transition on every object its selector returns; objects that cannot move are skipped."""
        row = self._row(outbox_id)
        if row is None:
            return
        work = self.table.of_row(row)
        reaction, selector = work.spec, work.run
        assert isinstance(reaction, ReactionSpec)
        assert selector is not None
        with self.session_factory() as session:
            self._handler(
                Deadline(limit_of(reaction), f"reaction {row.name}"), self._react, session, reaction, row, selector
            )

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
    log.info(
        "message %s kept conflicting (%s); running it again in %d ms",
        message.message_id,
        describe(error),
        CONFLICT_REQUEUE_MS,
    )
    broker.enqueue(message, delay=CONFLICT_REQUEUE_MS)
    return True


def _last_attempt() -> bool:
    message = CurrentMessage.get_current_message()
    if message is None:
        return True
    return int(message.options.get("retries", 0)) >= int(message.options.get("max_retries", 0))
