"""The typed, immutable form of a machine file: ``MachineSpec`` and its parts.

Every part keeps an ``Origin`` (not compared) so later stages can point back at the file.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from engine.spec.durations import format_duration
from engine.spec.locations import DataPath, Location, SourceMap

#: Retries of a task, endpoint, listener or reaction when the file gives none.
DEFAULT_RETRIES = 3
#: Shortest wait before a retry when the file gives no backoff.
DEFAULT_MIN_BACKOFF = timedelta(seconds=1)
#: Longest wait before a retry when the file gives no backoff.
DEFAULT_MAX_BACKOFF = timedelta(minutes=5)
#: How long a task, listener or reaction may run when the file gives no time limit.
DEFAULT_TIME_LIMIT = timedelta(minutes=10)
#: How long an endpoint's HTTP call may take when the file gives no timeout.
DEFAULT_HTTP_TIMEOUT = timedelta(seconds=30)
#: The status column when the file names none.
DEFAULT_FIELD = "status"

HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
#: What made a move between two states possible, for checks and diagrams.
MoveKind = Literal["transition", "timeout", "defibrillate"]


@dataclass(frozen=True)
class Origin:
    """Where a part of the spec came from: its file's source map and its data path.

    Args:
        source_map: Locations for the whole file.
        path: The part's data path.
    """

    source_map: SourceMap
    path: DataPath

    def at(self, *relative: str | int) -> Location:
        """Location of a value below this part (the part itself with no argument)."""
        return self.source_map.value(self.path + relative)

    def text(self, *relative: str | int) -> Location:
        """Location of a scalar's first character below this part (inside quotes)."""
        return self.source_map.text(self.path + relative)

    def key(self, *relative: str | int) -> Location:
        """Location of the key naming a value below this part."""
        return self.source_map.key(self.path + relative)


_NOWHERE = Origin(SourceMap("<memory>", {}, {}), ())


def _origin() -> Origin:
    return dataclasses.field(default=_NOWHERE, compare=False, repr=False)


# Guards ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GuardName:
    """A reference to a guard declared under ``guards``."""

    name: str
    origin: Origin = _origin()


@dataclass(frozen=True)
class GuardCall:
    """A dotted path to a callable ``(model, context) -> bool``."""

    path: str
    origin: Origin = _origin()


@dataclass(frozen=True)
class GuardExpression:
    """A safe expression over ``model`` and ``context``."""

    source: str
    origin: Origin = _origin()


@dataclass(frozen=True)
class AllOf:
    """Passes when every inner guard passes."""

    guards: tuple[Guard, ...]
    origin: Origin = _origin()


@dataclass(frozen=True)
class AnyOf:
    """Passes when at least one inner guard passes."""

    guards: tuple[Guard, ...]
    origin: Origin = _origin()


@dataclass(frozen=True)
class Not:
    """Passes when the inner guard fails."""

    guard: Guard
    origin: Origin = _origin()


Guard = GuardName | GuardCall | GuardExpression | AllOf | AnyOf | Not


def describe_guard(guard: Guard) -> str:
    """A compact one-line form of a guard tree, as diagrams and summaries show it.

    >>> describe_guard(AllOf((GuardName("covered"), Not(GuardName("verified")))))
    'covered and not verified'
    """
    if isinstance(guard, GuardName):
        return guard.name
    if isinstance(guard, GuardCall):
        return guard.path
    if isinstance(guard, GuardExpression):
        return guard.source
    if isinstance(guard, Not):
        return f"not {_grouped(guard.guard)}"
    joiner = " and " if isinstance(guard, AllOf) else " or "
    return joiner.join(_grouped(inner) for inner in guard.guards)


def _grouped(guard: Guard) -> str:
    text = describe_guard(guard)
    return f"({text})" if isinstance(guard, AllOf | AnyOf) and len(guard.guards) > 1 else text


# States and moves -----------------------------------------------------------------------------
@dataclass(frozen=True)
class TimeoutSpec:
    """Move objects that stay longer than ``after`` to the state ``to``."""

    after: timedelta
    to: str
    origin: Origin = _origin()


@dataclass(frozen=True)
class StateSpec:
    """One status an object can have."""

    name: str
    value: int | str
    description: str | None = None
    events: tuple[str, ...] = ()
    metadata: Mapping[str, object] = dataclasses.field(default_factory=dict)
    timeout: TimeoutSpec | None = None
    defibrillate: str | None = None
    final: bool = False
    origin: Origin = _origin()
    #: Whether ``touch()`` may re-enter the state (issue 14).
    touchable: bool = False
    #: What people read instead of the name (``display`` falls back to the name, humanised).
    label: str | None = None

    @property
    def display(self) -> str:
        """The ``label``, or the name humanised: ``awaiting_payment`` reads ``Awaiting payment``."""
        return self.label or humanise(self.name)

    @property
    def color(self) -> str | None:
        """The ``metadata.color`` of the state, if set."""
        color = self.metadata.get("color")
        return color if isinstance(color, str) else None


@dataclass(frozen=True)
class TransitionSpec:
    """A named move from some states to one state.

    ``sources`` is empty when ``from: "*"`` (every state); use ``MachineSpec.sources_of``.
    """

    name: str
    sources: tuple[str, ...]
    target: str
    guard: Guard | None = None
    actions: tuple[str, ...] = ()
    description: str | None = None
    metadata: Mapping[str, object] = dataclasses.field(default_factory=dict)
    from_any: bool = False
    origin: Origin = _origin()
    #: What people read instead of the name (``display`` falls back to the name, humanised).
    label: str | None = None

    @property
    def display(self) -> str:
        """The ``label``, or the name humanised."""
        return self.label or humanise(self.name)


def humanise(name: str) -> str:
    """A state or transition name as a label: underscores as spaces, the first letter capital.

    >>> humanise("awaiting_payment")
    'Awaiting payment'
    """
    words = name.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


# Work -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Backoff:
    """Wait between retries, growing from ``minimum`` to ``maximum``."""

    minimum: timedelta = DEFAULT_MIN_BACKOFF
    maximum: timedelta = DEFAULT_MAX_BACKOFF


@dataclass(frozen=True)
class Steps:
    """The states a piece of work moves an object through."""

    when: str
    processing: str | None
    complete: str
    error: str

    def moves(self) -> Iterator[tuple[str, str, str]]:
        """Each (step field, from state, to state) the work performs."""
        start = self.when
        if self.processing is not None:
            yield "processing", self.when, self.processing
            start = self.processing
        yield "complete", start, self.complete
        yield "error", start, self.error


@dataclass(frozen=True)
class TaskSpec:
    """Background work run when an object enters ``steps.when``."""

    name: str
    run: str
    steps: Steps
    retries: int = DEFAULT_RETRIES
    backoff: Backoff = Backoff()
    time_limit: timedelta = DEFAULT_TIME_LIMIT
    queue: str | None = None
    description: str | None = None
    origin: Origin = _origin()


@dataclass(frozen=True)
class EndpointSpec:
    """An HTTP call made when an object enters ``steps.when``."""

    name: str
    url: str
    steps: Steps
    method: HttpMethod = "GET"
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)
    payload: str | None = None
    response: str | None = None
    timeout: timedelta = DEFAULT_HTTP_TIMEOUT
    retries: int = DEFAULT_RETRIES
    backoff: Backoff = Backoff()
    queue: str | None = None
    redact: tuple[str, ...] = ()
    description: str | None = None
    origin: Origin = _origin()
    #: Whether a 3xx answer counts as success (it is never followed); by default it is an error.
    accept_redirects: bool = False


@dataclass(frozen=True)
class ListenerSpec:
    """A callable run in the background when ``event`` is emitted."""

    event: str
    run: str
    queue: str | None = None
    description: str | None = None
    retries: int = DEFAULT_RETRIES
    backoff: Backoff = Backoff()
    time_limit: timedelta = DEFAULT_TIME_LIMIT
    origin: Origin = _origin()


@dataclass(frozen=True)
class ReactionSpec:
    """On another machine's ``on`` event, fire ``fire`` on the objects ``select`` returns."""

    on: str
    select: str
    fire: str
    description: str | None = None
    retries: int = DEFAULT_RETRIES
    backoff: Backoff = Backoff()
    time_limit: timedelta = DEFAULT_TIME_LIMIT
    queue: str | None = None
    origin: Origin = _origin()


# Callbacks (inbound webhooks) ------------------------------------------------------------------
#: Largest callback body read, in bytes, when the file gives no ``max_body``.
DEFAULT_CALLBACK_MAX_BODY = 1024 * 1024
#: How long a delivery is remembered against replays when the file gives no ``replay_ttl``.
DEFAULT_REPLAY_TTL = timedelta(days=7)
#: How far a signed timestamp may be from now when the file gives no ``tolerance`` (Stripe's default).
DEFAULT_SIGNATURE_TOLERANCE = timedelta(minutes=5)

SignatureFormat = Literal["plain", "stripe"]
SignatureEncoding = Literal["hex", "base64"]


@dataclass(frozen=True)
class HmacVerifier:
    """An HMAC-SHA256 signature over the raw body (and a timestamp), keyed by a secret from the environment.

    ``format: plain`` reads ``prefix + signature`` from ``header`` (GitHub: ``X-Hub-Signature-256``,
    prefix ``sha256=``), signing ``"{timestamp}.{body}"`` when ``timestamp_header`` is set and the body
    alone otherwise. ``format: stripe`` reads ``t=<ts>,v1=<sig>[,v1=...]`` from ``header`` and signs
    ``"{t}.{body}"``.
    """

    secret_env: str
    header: str
    format: SignatureFormat = "plain"
    prefix: str = ""
    encoding: SignatureEncoding = "hex"
    timestamp_header: str | None = None
    tolerance: timedelta = DEFAULT_SIGNATURE_TOLERANCE


@dataclass(frozen=True)
class CallableVerifier:
    """A dotted callable ``(headers, body) -> bool`` that decides whether a delivery is genuine."""

    run: str


Verifier = HmacVerifier | CallableVerifier


@dataclass(frozen=True)
class CallbackSpec:
    """An inbound, signed HTTP call awaited while an object is in ``steps.when``.

    A delivery moves the object ``when`` → ``complete`` (or ``error`` when ``handle`` raises), in the
    transaction that also remembers the delivery; callbacks have no ``processing`` step.
    """

    name: str
    route: str
    steps: Steps
    verify: Verifier
    handle: str | None = None
    delivery_header: str | None = None
    replay_ttl: timedelta = DEFAULT_REPLAY_TTL
    max_body: int = DEFAULT_CALLBACK_MAX_BODY
    redact: tuple[str, ...] = ()
    description: str | None = None
    origin: Origin = _origin()


@dataclass(frozen=True)
class Move:
    """One edge of the machine's graph."""

    source: str
    target: str
    kind: MoveKind
    label: str


# The machine ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class MachineSpec:
    """One machine file, validated and typed."""

    name: str
    model: str
    initial: str
    states: Mapping[str, StateSpec]
    field: str = DEFAULT_FIELD
    version: int = 1
    description: str | None = None
    metadata: Mapping[str, object] = dataclasses.field(default_factory=dict)
    guards: Mapping[str, Guard] = dataclasses.field(default_factory=dict)
    transitions: tuple[TransitionSpec, ...] = ()
    tasks: Mapping[str, TaskSpec] = dataclasses.field(default_factory=dict)
    endpoints: Mapping[str, EndpointSpec] = dataclasses.field(default_factory=dict)
    listeners: tuple[ListenerSpec, ...] = ()
    reactions: tuple[ReactionSpec, ...] = ()
    callbacks: Mapping[str, CallbackSpec] = dataclasses.field(default_factory=dict)
    origin: Origin = _origin()
    #: Events the machine's code may emit with ``emit()``, besides its states' events (issue 14).
    emits: tuple[str, ...] = ()
    #: Whether assigning a stored object's status attribute directly raises (``protected: false`` allows it).
    protected: bool = True

    @property
    def path(self) -> str:
        """The file this machine was read from."""
        return self.origin.source_map.file

    @property
    def emittable(self) -> frozenset[str]:
        """The events ``emit()`` accepts for this machine: its ``emits:`` list and its states' events."""
        return frozenset(self.emits).union(*(state.events for state in self.states.values()))

    @property
    def final_states(self) -> tuple[str, ...]:
        """Names of the states marked ``final``."""
        return tuple(name for name, state in self.states.items() if state.final)

    def sources_of(self, transition: TransitionSpec) -> tuple[str, ...]:
        """The states a transition may leave: every state for ``from: "*"``."""
        return tuple(self.states) if transition.from_any else transition.sources

    def moves(self) -> Iterator[Move]:
        """Every edge: transitions, timeouts and defibrillations."""
        for transition in self.transitions:
            for source in self.sources_of(transition):
                yield Move(source, transition.target, "transition", transition.name)
        for state in self.states.values():
            if state.timeout is not None:
                yield Move(state.name, state.timeout.to, "timeout", f"after {format_duration(state.timeout.after)}")
            if state.defibrillate is not None:
                yield Move(state.name, state.defibrillate, "defibrillate", "defibrillate")

    def work(self) -> Iterator[TaskSpec | EndpointSpec]:
        """Every task and endpoint."""
        yield from self.tasks.values()
        yield from self.endpoints.values()
