"""Rules a JSON Schema cannot express: references, values, ambiguity, reachability, legal work steps."""

from __future__ import annotations

import re
import string
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from engine.spec.callbacks import check_callbacks
from engine.spec.diagnostics import Diagnostic
from engine.spec.durations import format_duration
from engine.spec.locations import Location
from engine.spec.model import (
    EndpointSpec,
    ListenerSpec,
    MachineSpec,
    Move,
    ReactionSpec,
    StateSpec,
    TaskSpec,
    TransitionSpec,
)
from engine.spec.suggestions import MAX_LISTED, Suggester, listing

Check = Callable[[MachineSpec], Iterable[Diagnostic]]
_MOVE_NAMES = {"timeout": "timeout", "defibrillate": "defibrillation"}
_PLACEHOLDER = re.compile(r"(model|context)(\.[A-Za-z][A-Za-z0-9_]*)+")


def run_checks(spec: MachineSpec) -> list[Diagnostic]:
    """Run every semantic check on a machine.

    Args:
        spec: A machine that passed the schema.

    Returns:
        All problems found, in no particular order.
    """
    return [diagnostic for check in CHECKS for diagnostic in check(spec)]


def check_state_references(spec: MachineSpec) -> Iterator[Diagnostic]:
    """Every state named anywhere is declared."""
    known = list(spec.states)
    listed = listing(known)
    suggester = Suggester()
    for name, role, location in _state_references(spec):
        if name not in spec.states:
            yield Diagnostic(
                "SW201",
                f"Unknown state {name!r} as {role}.{suggester.did_you_mean(name, known)} Known states: {listed}.",
                location,
            )


def _state_references(spec: MachineSpec) -> Iterator[tuple[str, str, Location]]:
    """Every (state name, role, location) the machine mentions outside `states` keys."""
    yield spec.initial, "the initial state", spec.origin.text("initial")
    for state in spec.states.values():
        if state.defibrillate is not None:
            yield state.defibrillate, f"defibrillation target of {state.name!r}", state.origin.text("defibrillate")
        if state.timeout is not None:
            yield state.timeout.to, f"timeout target of {state.name!r}", state.origin.text("timeout", "to")
    for transition in spec.transitions:
        label = f"transition {transition.name!r}"
        listed = _from_is_list(transition)
        for index, source in enumerate(transition.sources):
            where = transition.origin.text("from", index) if listed else transition.origin.text("from")
            yield source, f"source of {label}", where
        yield transition.target, f"target of {label}", transition.origin.text("to")
    for work in spec.work():
        kind = "task" if isinstance(work, TaskSpec) else "endpoint"
        for step in ("when", "processing", "complete", "error"):
            name = getattr(work.steps, step)
            if name is not None:
                yield name, f"`{step}` of {kind} {work.name!r}", work.origin.text(step)


def _from_is_list(transition: TransitionSpec) -> bool:
    """Whether ``from`` was written as a list: its items then have locations of their own."""
    return transition.origin.at("from", 0) != transition.origin.at("from")


def check_values(spec: MachineSpec) -> Iterator[Diagnostic]:
    """State values are unique and all of one type."""
    seen: dict[int | str, str] = {}
    for state in spec.states.values():
        other = seen.setdefault(state.value, state.name)
        if other != state.name:
            yield Diagnostic(
                "SW301",
                f"States {other!r} and {state.name!r} both store the value {state.value!r}; each state needs its own.",
                state.origin.at("value"),
            )
    kinds = {type(state.value) for state in spec.states.values()}
    if len(kinds) > 1:
        odd_type = min(kinds, key=lambda kind: sum(isinstance(s.value, kind) for s in spec.states.values()))
        for state in spec.states.values():
            if isinstance(state.value, odd_type):
                yield Diagnostic(
                    "SW302",
                    f"State {state.name!r} stores {state.value!r} but most states store "
                    f"{'strings' if odd_type is int else 'integers'}; the status column holds one type. "
                    "(A state without `value` stores its name.)",
                    state.origin.at("value"),
                )


def check_transition_ambiguity(spec: MachineSpec) -> Iterator[Diagnostic]:
    """No duplicate, ambiguous or shadowed transitions leave one state under one name.

    Each transition is compared with the earliest one before it that leaves a state it leaves too, which
    keeps the check linear however many transitions share a name or leave every state (``from: "*"``).
    """
    by_name: dict[str, list[TransitionSpec]] = defaultdict(list)
    for transition in spec.transitions:
        by_name[transition.name].append(transition)
    for name, group in by_name.items():
        earlier = _EarlierTransitions(spec.states)
        for later in group:
            diagnostic = _compare_with_earlier(name, earlier, later)
            if diagnostic is not None:
                yield diagnostic
            earlier.add(later)


# (position in the file, transition, the state it shares with the one compared)
_Entry = tuple[int, TransitionSpec, str]
_STAR = "*"  # entries of `from: "*"` transitions
_ANY = ""  # entries of every transition leaving a declared state, for comparing a later "*" with


class _EarlierTransitions:
    """The earliest transitions of one name seen so far, by the state they leave."""

    def __init__(self, states: Iterable[str]) -> None:
        self.states = set(states)
        self.same: dict[tuple[str, str, object], _Entry] = {}
        self.unguarded: dict[str, _Entry] = {}
        self.added = 0

    def add(self, transition: TransitionSpec) -> None:
        self.added += 1
        index = self.added
        for source in (_STAR,) if transition.from_any else transition.sources:
            entry = (index, transition, source)
            keys = [source, _ANY] if source == _STAR or source in self.states else [source]
            for key in keys:
                self.same.setdefault((key, transition.target, transition.guard), entry)
                if transition.guard is None:
                    self.unguarded.setdefault(key, entry)

    def duplicate_of(self, transition: TransitionSpec) -> tuple[_Entry, str] | None:
        """The earliest earlier transition with the same target and guard sharing a source."""
        return self._earliest(
            [
                (self.same.get((key, transition.target, transition.guard)), shared)
                for key, shared in self._keys(transition)
            ]
        )

    def unguarded_before(self, transition: TransitionSpec) -> tuple[_Entry, str] | None:
        """The earliest earlier unguarded transition sharing a source."""
        return self._earliest([(self.unguarded.get(key), shared) for key, shared in self._keys(transition)])

    def _keys(self, transition: TransitionSpec) -> list[tuple[str, str]]:
        """(key to look up, the state shared if found); ``""`` as shared means the earlier one's own source."""
        if transition.from_any:
            return [(_ANY, "")]
        keys = [(source, source) for source in transition.sources]
        declared = next((source for source in transition.sources if source in self.states), None)
        return keys + [(_STAR, declared)] if declared is not None else keys

    @staticmethod
    def _earliest(found: list[tuple[_Entry | None, str]]) -> tuple[_Entry, str] | None:
        hits = [(entry, shared or entry[2]) for entry, shared in found if entry is not None]
        return min(hits, key=lambda hit: hit[0][0]) if hits else None


def _compare_with_earlier(name: str, earlier: _EarlierTransitions, later: TransitionSpec) -> Diagnostic | None:
    where = later.origin.at()
    duplicate = earlier.duplicate_of(later)
    if duplicate is not None:
        (_, first, _), source = duplicate
        return Diagnostic(
            "SW303",
            f"Transition {name!r} from {source!r} to {later.target!r} is already declared "
            f"at line {first.origin.at().line}; remove one.",
            where,
        )
    unguarded = earlier.unguarded_before(later)
    if unguarded is None:
        return None
    (_, first, _), source = unguarded
    line = first.origin.at().line
    if later.guard is None:
        return Diagnostic(
            "SW304",
            f"Transition {name!r} from {source!r} is declared twice without a guard (to "
            f"{first.target!r} at line {line} and to {later.target!r}); which one fires is "
            "ambiguous. Add a guard or rename one.",
            where,
        )
    return Diagnostic(
        "SW305",
        f"Transition {name!r} from {source!r} to {later.target!r} can never fire: the "
        f"unguarded {name!r} at line {line} always wins. Move it after this one.",
        where,
    )


def _reachable(starts: Iterable[str], edges: dict[str, set[str]]) -> set[str]:
    seen = set(starts)
    frontier = list(seen)
    while frontier:
        for nxt in edges.get(frontier.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    return seen


@dataclass
class _Graph:
    """The machine's moves between declared states, with ``from: "*"`` transitions kept as one set of targets
    instead of an edge from every state (which would be quadratic)."""

    forward: dict[str, set[str]]
    backward: dict[str, set[str]]
    from_every_state: set[str]

    def has_exit(self, state: str) -> bool:
        return bool(self.forward.get(state) or self.from_every_state)


def _graph(spec: MachineSpec) -> _Graph:
    graph = _Graph(defaultdict(set), defaultdict(set), set())
    for move in _explicit_moves(spec):
        if move.source in spec.states and move.target in spec.states:
            graph.forward[move.source].add(move.target)
            graph.backward[move.target].add(move.source)
    graph.from_every_state = {t.target for t in spec.transitions if t.from_any and t.target in spec.states}
    return graph


def _explicit_moves(spec: MachineSpec) -> Iterator[Move]:
    """``spec.moves()`` without expanding ``from: "*"`` transitions into an edge from every state."""
    for transition in spec.transitions:
        if not transition.from_any:
            for source in transition.sources:
                yield Move(source, transition.target, "transition", transition.name)
    for state in spec.states.values():
        if state.timeout is not None:
            yield Move(state.name, state.timeout.to, "timeout", "timeout")
        if state.defibrillate is not None:
            yield Move(state.name, state.defibrillate, "defibrillate", "defibrillate")


def check_graph(spec: MachineSpec) -> Iterator[Diagnostic]:
    """Every state is reachable, can finish, and error states have a way out."""
    graph = _graph(spec)
    starts = {spec.initial} | graph.from_every_state if spec.initial in spec.states else set(spec.states)
    reachable = _reachable(starts, graph.forward)
    finals = spec.final_states
    finishing = _reachable(finals, graph.backward)
    if graph.from_every_state & finishing:  # a final state is reachable from every state
        finishing = set(spec.states)
    error_states = {work.steps.error for work in spec.work()} | {c.steps.error for c in spec.callbacks.values()}
    listed_finals = listing(finals)
    for state in spec.states.values():
        location = state.origin.key()
        if state.name not in reachable:
            yield Diagnostic(
                "SW306",
                f"State {state.name!r} cannot be reached from the initial state "
                f"{spec.initial!r}: no transition, timeout or defibrillation leads to it.",
                location,
            )
            continue
        if state.final:
            continue
        if state.name in error_states and not graph.has_exit(state.name):
            yield Diagnostic(
                "SW308",
                f"Error state {state.name!r} has no way out: add `defibrillate: <state>`, "
                "a transition out of it, or mark it `final: true`.",
                location,
            )
        elif finals and state.name not in finishing:
            yield Diagnostic(
                "SW307",
                f"State {state.name!r} is not final and no final state ({listed_finals}) can be reached from it.",
                location,
            )
        elif not finals and not graph.has_exit(state.name):
            yield Diagnostic("SW307", f"State {state.name!r} has no way out and is not marked `final: true`.", location)


def check_final_exits(spec: MachineSpec) -> Iterator[Diagnostic]:
    """Final states have no way out."""
    for move in _explicit_moves(spec):
        state = spec.states.get(move.source)
        if state is not None and state.final and move.target != move.source:
            yield _final_exit(state, move)
    leaving_all = [t for t in spec.transitions if t.from_any]
    into: dict[str, int] = defaultdict(int)
    for transition in leaving_all:
        into[transition.target] += 1
    for name in spec.final_states:
        count = len(leaving_all) - into[name]
        if count:  # one diagnostic per final state, however many `from: "*"` transitions there are
            shown = _first_exits(leaving_all, name)
            more = f" and {count - len(shown)} more" if count > len(shown) else ""
            yield Diagnostic(
                "SW310",
                f"Final state {name!r} has {count} outgoing transition{'s' if count > 1 else ''} "
                f'from "*" ({", ".join(shown)}{more}); drop `final: true` or list the states they '
                "leave.",
                spec.states[name].origin.key(),
            )


def _first_exits(leaving_all: list[TransitionSpec], name: str) -> list[str]:
    """The first ``MAX_LISTED`` of ``leaving_all`` that leave ``name``, described; stops as soon as it has them."""
    shown: list[str] = []
    for transition in leaving_all:
        if transition.target != name:
            shown.append(f"{transition.name!r} to {transition.target!r}")
            if len(shown) == MAX_LISTED:
                break
    return shown


def _final_exit(state: StateSpec, move: Move) -> Diagnostic:
    what = f"transition {move.label!r}" if move.kind == "transition" else _MOVE_NAMES[move.kind]
    return Diagnostic(
        "SW310",
        f"Final state {state.name!r} has an outgoing {what} to {move.target!r}; drop `final: true` or the move.",
        state.origin.key(),
    )


def check_work_steps(spec: MachineSpec) -> Iterator[Diagnostic]:
    """Each status step of a task or endpoint is a move some transition allows."""
    allowed = {(move.source, move.target) for move in _explicit_moves(spec) if move.kind == "transition"}
    allowed_from_every_state = {t.target for t in spec.transitions if t.from_any}
    for work in spec.work():
        kind = "task" if isinstance(work, TaskSpec) else "endpoint"
        for step, source, target in work.steps.moves():
            legal = (source, target) in allowed or target in allowed_from_every_state
            if source in spec.states and target in spec.states and not legal:
                yield Diagnostic(
                    "SW309",
                    f"{kind.capitalize()} {work.name!r} moves objects from {source!r} to "
                    f"{target!r} (its `{step}` step), but no transition allows that move. Declare "
                    f"one, e.g. {{name: ..., from: {source}, to: {target}}}.",
                    work.origin.text(step),
                )
        yield from _check_backoff(work)


def _check_backoff(work: TaskSpec | EndpointSpec) -> Iterator[Diagnostic]:
    if work.backoff.minimum > work.backoff.maximum:
        low, high = format_duration(work.backoff.minimum), format_duration(work.backoff.maximum)
        yield Diagnostic(
            "SW104",
            f"The backoff of {work.name!r} has a minimum ({low}) above its maximum ({high}).",
            work.origin.text("backoff", "min"),
        )


def check_listener_backoff(spec: MachineSpec) -> Iterator[Diagnostic]:
    """Listeners and reactions retry like tasks: their backoff's minimum is not above its maximum."""
    entries: list[tuple[str, ListenerSpec | ReactionSpec]] = [
        (f"listener of {entry.event!r}", entry) for entry in spec.listeners
    ]
    entries += [(f"reaction to {entry.on!r}", entry) for entry in spec.reactions]
    for what, entry in entries:
        if entry.backoff.minimum > entry.backoff.maximum:
            low, high = format_duration(entry.backoff.minimum), format_duration(entry.backoff.maximum)
            yield Diagnostic(
                "SW104",
                f"The backoff of the {what} has a minimum ({low}) above its maximum ({high}).",
                entry.origin.text("backoff", "min"),
            )


def check_reactions(spec: MachineSpec) -> Iterator[Diagnostic]:
    """Reactions fire transitions the machine declares."""
    names = sorted({transition.name for transition in spec.transitions})
    declared, listed = set(names), listing(names) or "none"
    suggester = Suggester()
    for reaction in spec.reactions:
        if reaction.fire not in declared:
            suggestion = suggester.did_you_mean(reaction.fire, names)
            yield Diagnostic(
                "SW203",
                f"Reaction to {reaction.on!r} fires unknown transition {reaction.fire!r}."
                f"{suggestion} Transitions: {listed}.",
                reaction.origin.text("fire"),
            )


def check_url_templates(spec: MachineSpec) -> Iterator[Diagnostic]:
    """Endpoint URLs are http(s) or a path, with placeholders only after the host."""
    for endpoint in spec.endpoints.values():
        problem = url_template_problem(endpoint.url)
        if problem is not None:
            yield Diagnostic("SW403", f"URL of endpoint {endpoint.name!r}: {problem}", endpoint.origin.text("url"))


def url_template_problem(url: str) -> str | None:
    """Say what is wrong with an endpoint URL template, or return ``None``.

    >>> url_template_problem("https://{model.tenant}.example.com/x")
    'placeholders may not choose the scheme or host; move {model.tenant} into the path or query.'
    """
    try:
        fields = [name for _, name, spec, conv in string.Formatter().parse(url) if name is not None]
    except ValueError as exc:
        return f"malformed placeholder braces ({exc}); write {{model.attribute}}, and {{{{ }}}} for a literal brace."
    for name in fields:
        if not _PLACEHOLDER.fullmatch(name):
            return (
                f"placeholder {{{name}}} is not allowed; use {{model.attribute}} or {{context.key}} "
                "(no calls, indexing or names starting with _)."
            )
    scheme, sep, rest = url.partition("://")
    if not sep:
        if not url.startswith("/"):
            return "write an absolute http(s) URL, or a path starting with / to join to the app's base URL."
        return None
    if scheme not in ("http", "https"):
        return f"the scheme {scheme!r} is not supported; use http or https."
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    if "{" in scheme or "{" in authority:
        placeholder = re.search(r"\{[^}]*\}", authority)
        shown = placeholder.group(0) if placeholder else "placeholders"
        return f"placeholders may not choose the scheme or host; move {shown} into the path or query."
    if not authority:
        return "the URL has no host."
    return None


def check_own_events(spec: MachineSpec) -> Iterator[Diagnostic]:
    """Listeners and reactions on the machine's own events (named ``<machine>.…``) wait for one it emits.

    Events of other machines are left alone: a file is checked without the machines it listens to.
    """
    emitted = sorted(spec.emittable)
    listed, prefix, suggester = listing(emitted) or "none", f"{spec.name}.", Suggester()
    awaited = [(f"Listener of {entry.event!r}", entry.event, entry.origin.text("event")) for entry in spec.listeners]
    awaited += [(f"Reaction to {entry.on!r}", entry.on, entry.origin.text("on")) for entry in spec.reactions]
    for label, event, location in awaited:
        if event.startswith(prefix) and event not in spec.emittable:
            yield Diagnostic(
                "SW207",
                f"{label} waits for an event machine {spec.name!r} neither emits from a state nor lists in "
                f"`emits:`, so it never runs.{suggester.did_you_mean(event, emitted)} Events it emits: {listed}.",
                location,
            )


#: Every semantic check, in the order they run.
CHECKS: tuple[Check, ...] = (
    check_state_references,
    check_values,
    check_transition_ambiguity,
    check_graph,
    check_final_exits,
    check_work_steps,
    check_listener_backoff,
    check_reactions,
    check_url_templates,
    check_callbacks,
    check_own_events,
)
