"""Rules a JSON Schema cannot express: references, values, ambiguity, reachability, legal work steps."""

from __future__ import annotations

import difflib
import re
import string
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator

from engine.spec.diagnostics import Diagnostic
from engine.spec.durations import format_duration
from engine.spec.locations import Location
from engine.spec.model import (
    EndpointSpec,
    ListenerSpec,
    MachineSpec,
    ReactionSpec,
    TaskSpec,
    TransitionSpec,
)

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


def _unknown_state(spec: MachineSpec, name: str, role: str, location: Location) -> Diagnostic:
    known = list(spec.states)
    hint = difflib.get_close_matches(name, known, n=1)
    suggestion = f" Did you mean {hint[0]!r}?" if hint else ""
    return Diagnostic("SW201", f"Unknown state {name!r} as {role}.{suggestion} Known states: {', '.join(known)}.",
                      location)


def check_state_references(spec: MachineSpec) -> Iterator[Diagnostic]:
    """Every state named anywhere is declared."""
    for name, role, location in _state_references(spec):
        if name not in spec.states:
            yield _unknown_state(spec, name, role, location)


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
            yield Diagnostic("SW301", f"States {other!r} and {state.name!r} both store the value {state.value!r}; "
                             "each state needs its own.", state.origin.at("value"))
    kinds = {type(state.value) for state in spec.states.values()}
    if len(kinds) > 1:
        odd_type = min(kinds, key=lambda kind: sum(isinstance(s.value, kind) for s in spec.states.values()))
        for state in spec.states.values():
            if isinstance(state.value, odd_type):
                yield Diagnostic("SW302", f"State {state.name!r} stores {state.value!r} but most states store "
                                 f"{'strings' if odd_type is int else 'integers'}; the status column holds one type. "
                                 "(A state without `value` stores its name.)", state.origin.at("value"))


def check_transition_ambiguity(spec: MachineSpec) -> Iterator[Diagnostic]:
    """No duplicate, ambiguous or shadowed transitions leave one state under one name."""
    by_trigger: dict[tuple[str, str], list[TransitionSpec]] = defaultdict(list)
    for transition in spec.transitions:
        for source in spec.sources_of(transition):
            by_trigger[(transition.name, source)].append(transition)
    reported: set[tuple[int, int]] = set()
    for (name, source), group in by_trigger.items():
        for later_index, later in enumerate(group):
            for earlier in group[:later_index]:
                pair = (id(earlier), id(later))
                if pair in reported:
                    continue
                diagnostic = _compare_transitions(name, source, earlier, later)
                if diagnostic is not None:
                    reported.add(pair)
                    yield diagnostic


def _compare_transitions(name: str, source: str, earlier: TransitionSpec,
                         later: TransitionSpec) -> Diagnostic | None:
    line = earlier.origin.at().line
    where = later.origin.at()
    if earlier.target == later.target and earlier.guard == later.guard:
        return Diagnostic("SW303", f"Transition {name!r} from {source!r} to {later.target!r} is already declared "
                          f"at line {line}; remove one.", where)
    if earlier.guard is None and later.guard is None:
        return Diagnostic("SW304", f"Transition {name!r} from {source!r} is declared twice without a guard (to "
                          f"{earlier.target!r} at line {line} and to {later.target!r}); which one fires is "
                          "ambiguous. Add a guard or rename one.", where)
    if earlier.guard is None:
        return Diagnostic("SW305", f"Transition {name!r} from {source!r} to {later.target!r} can never fire: the "
                          f"unguarded {name!r} at line {line} always wins. Move it after this one.", where)
    return None


def _reachable(starts: Iterable[str], edges: dict[str, set[str]]) -> set[str]:
    seen = set(starts)
    frontier = list(seen)
    while frontier:
        for nxt in edges.get(frontier.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    return seen


def check_graph(spec: MachineSpec) -> Iterator[Diagnostic]:
    """Every state is reachable, can finish, and error states have a way out."""
    moves = [move for move in spec.moves() if move.source in spec.states and move.target in spec.states]
    forward: dict[str, set[str]] = defaultdict(set)
    backward: dict[str, set[str]] = defaultdict(set)
    for move in moves:
        forward[move.source].add(move.target)
        backward[move.target].add(move.source)
    reachable = _reachable([spec.initial], forward) if spec.initial in spec.states else set(spec.states)
    finals = spec.final_states
    finishing = _reachable(finals, backward)
    error_states = {work.steps.error for work in spec.work()}
    for state in spec.states.values():
        location = state.origin.key()
        if state.name not in reachable:
            yield Diagnostic("SW306", f"State {state.name!r} cannot be reached from the initial state "
                             f"{spec.initial!r}: no transition, timeout or defibrillation leads to it.", location)
            continue
        if state.final:
            continue
        if state.name in error_states and not forward.get(state.name):
            yield Diagnostic("SW308", f"Error state {state.name!r} has no way out: add `defibrillate: <state>`, "
                             "a transition out of it, or mark it `final: true`.", location)
        elif finals and state.name not in finishing:
            yield Diagnostic("SW307", f"State {state.name!r} is not final and no final state "
                             f"({', '.join(finals)}) can be reached from it.", location)
        elif not finals and not forward.get(state.name):
            yield Diagnostic("SW307", f"State {state.name!r} has no way out and is not marked `final: true`.",
                             location)


def check_final_exits(spec: MachineSpec) -> Iterator[Diagnostic]:
    """Final states have no way out."""
    for move in spec.moves():
        state = spec.states.get(move.source)
        if state is not None and state.final and move.target != move.source:
            what = f"transition {move.label!r}" if move.kind == "transition" else _MOVE_NAMES[move.kind]
            yield Diagnostic("SW310", f"Final state {state.name!r} has an outgoing {what} to {move.target!r}; "
                             "drop `final: true` or the move.",
                             state.origin.key())


def check_work_steps(spec: MachineSpec) -> Iterator[Diagnostic]:
    """Each status step of a task or endpoint is a move some transition allows."""
    allowed = {(move.source, move.target) for move in spec.moves() if move.kind == "transition"}
    for work in spec.work():
        kind = "task" if isinstance(work, TaskSpec) else "endpoint"
        for step, source, target in work.steps.moves():
            if source in spec.states and target in spec.states and (source, target) not in allowed:
                yield Diagnostic("SW309", f"{kind.capitalize()} {work.name!r} moves objects from {source!r} to "
                                 f"{target!r} (its `{step}` step), but no transition allows that move. Declare "
                                 f"one, e.g. {{name: ..., from: {source}, to: {target}}}.", work.origin.text(step))
        yield from _check_backoff(work)


def _check_backoff(work: TaskSpec | EndpointSpec) -> Iterator[Diagnostic]:
    if work.backoff.minimum > work.backoff.maximum:
        low, high = format_duration(work.backoff.minimum), format_duration(work.backoff.maximum)
        yield Diagnostic("SW104", f"The backoff of {work.name!r} has a minimum ({low}) above its maximum ({high}).",
                         work.origin.text("backoff", "min"))


def check_listener_backoff(spec: MachineSpec) -> Iterator[Diagnostic]:
    """Listeners and reactions retry like tasks: their backoff's minimum is not above its maximum."""
    entries: list[tuple[str, ListenerSpec | ReactionSpec]] = [
        (f"listener of {entry.event!r}", entry) for entry in spec.listeners]
    entries += [(f"reaction to {entry.on!r}", entry) for entry in spec.reactions]
    for what, entry in entries:
        if entry.backoff.minimum > entry.backoff.maximum:
            low, high = format_duration(entry.backoff.minimum), format_duration(entry.backoff.maximum)
            yield Diagnostic("SW104", f"The backoff of the {what} has a minimum ({low}) above its maximum ({high}).",
                             entry.origin.text("backoff", "min"))


def check_reactions(spec: MachineSpec) -> Iterator[Diagnostic]:
    """Reactions fire transitions the machine declares."""
    names = sorted({transition.name for transition in spec.transitions})
    for reaction in spec.reactions:
        if reaction.fire not in names:
            hint = difflib.get_close_matches(reaction.fire, names, n=1)
            suggestion = f" Did you mean {hint[0]!r}?" if hint else ""
            yield Diagnostic("SW203", f"Reaction to {reaction.on!r} fires unknown transition {reaction.fire!r}."
                             f"{suggestion} Transitions: {', '.join(names) or 'none'}.", reaction.origin.text("fire"))


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
            return (f"placeholder {{{name}}} is not allowed; use {{model.attribute}} or {{context.key}} "
                    "(no calls, indexing or names starting with _).")
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
)

