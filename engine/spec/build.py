"""Turn schema-valid data into a ``MachineSpec``: apply defaults, type durations, classify guards."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, cast

from engine.spec.callbacks import build_callbacks
from engine.spec.diagnostics import Diagnostic
from engine.spec.durations import parse_duration
from engine.spec.expressions import ExpressionProblem, compile_expression
from engine.spec.locations import DataPath, SourceMap
from engine.spec.model import (
    DEFAULT_FIELD,
    DEFAULT_HTTP_TIMEOUT,
    DEFAULT_MAX_BACKOFF,
    DEFAULT_MIN_BACKOFF,
    DEFAULT_RETRIES,
    DEFAULT_TIME_LIMIT,
    AllOf,
    AnyOf,
    Backoff,
    EndpointSpec,
    Guard,
    GuardCall,
    GuardExpression,
    GuardName,
    HttpMethod,
    ListenerSpec,
    MachineSpec,
    Not,
    Origin,
    ReactionSpec,
    StateSpec,
    Steps,
    TaskSpec,
    TimeoutSpec,
    TransitionSpec,
)
from engine.spec.suggestions import Suggester, listing

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_DOTTED = re.compile(rf"{_NAME}(\.{_NAME})*:{_NAME}(\.{_NAME})*")
_BARE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _frozen(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


@dataclass
class _SpecBuilder:
    data: dict[str, Any]
    source_map: SourceMap
    diagnostics: list[Diagnostic] = field(default_factory=list)
    declared_guards: dict[str, Guard] = field(default_factory=dict)
    suggester: Suggester = field(default_factory=Suggester)

    def origin(self, *path: str | int) -> Origin:
        return Origin(self.source_map, path)

    def build(self) -> MachineSpec:
        data = self.data
        guards = self.declared_guards
        for name, text in data.get("guards", {}).items():
            guards[name] = self.guard_definition(text, ("guards", name))
        return MachineSpec(
            name=data["name"],
            model=data["model"],
            initial=data["initial"],
            field=data.get("field", DEFAULT_FIELD),
            version=data["version"],
            description=data.get("description"),
            metadata=_frozen(data.get("metadata")),
            states=_frozen({name: self.state(name, raw) for name, raw in data["states"].items()}),
            guards=_frozen(guards),
            transitions=tuple(self.transition(i, raw) for i, raw in enumerate(data.get("transitions", []))),
            tasks=_frozen({name: self.task(name, raw) for name, raw in data.get("tasks", {}).items()}),
            endpoints=_frozen({name: self.endpoint(name, raw) for name, raw in data.get("endpoints", {}).items()}),
            listeners=tuple(
                ListenerSpec(
                    raw["event"],
                    raw["run"],
                    raw.get("queue"),
                    raw.get("description"),
                    origin=self.origin("listeners", i),
                    **self.retrying(raw),
                )
                for i, raw in enumerate(data.get("listeners", []))
            ),
            reactions=tuple(
                ReactionSpec(
                    raw["on"],
                    raw["select"],
                    raw["fire"],
                    raw.get("description"),
                    queue=raw.get("queue"),
                    origin=self.origin("reactions", i),
                    **self.retrying(raw),
                )
                for i, raw in enumerate(data.get("reactions", []))
            ),
            callbacks=build_callbacks(data, self.source_map),
            origin=self.origin(),
            emits=tuple(data.get("emits", ())),
            protected=data.get("protected", True),
        )

    # States and transitions ------------------------------------------------------------------
    def state(self, name: str, raw: dict[str, Any] | None) -> StateSpec:
        raw = raw or {}
        timeout = None
        if "timeout" in raw:
            timeout = TimeoutSpec(
                parse_duration(raw["timeout"]["after"]), raw["timeout"]["to"], self.origin("states", name, "timeout")
            )
        return StateSpec(
            name=name,
            value=raw.get("value", name),
            description=raw.get("description"),
            events=tuple(raw.get("events", ())),
            metadata=_frozen(raw.get("metadata")),
            timeout=timeout,
            defibrillate=raw.get("defibrillate"),
            final=raw.get("final", False),
            origin=self.origin("states", name),
            touchable=raw.get("touchable", False),
            label=raw.get("label"),
        )

    def transition(self, index: int, raw: dict[str, Any]) -> TransitionSpec:
        sources = raw["from"]
        from_any = sources == "*"
        guard = self.guard_tree(raw["guard"], ("transitions", index, "guard")) if "guard" in raw else None
        return TransitionSpec(
            name=raw["name"],
            sources=() if from_any else tuple([sources] if isinstance(sources, str) else sources),
            target=raw["to"],
            guard=guard,
            actions=tuple(raw.get("actions", ())),
            description=raw.get("description"),
            metadata=_frozen(raw.get("metadata")),
            from_any=from_any,
            origin=self.origin("transitions", index),
            label=raw.get("label"),
        )

    # Guards ----------------------------------------------------------------------------------
    def guard_definition(self, text: str, path: DataPath) -> Guard:
        """A value under ``guards``: a dotted path or an expression."""
        if _DOTTED.fullmatch(text):
            return GuardCall(text, Origin(self.source_map, path))
        return self.expression(text, path)

    def guard_tree(self, raw: Any, path: DataPath) -> Guard:
        """A transition's ``guard``: names, dotted paths, expressions, and all/any/not of them."""
        origin = Origin(self.source_map, path)
        if isinstance(raw, dict):
            ((kind, inner),) = raw.items()
            if kind == "not":
                return Not(self.guard_tree(inner, path + ("not",)), origin)
            parts = tuple(self.guard_tree(item, path + (kind, i)) for i, item in enumerate(inner))
            return AllOf(parts, origin) if kind == "all" else AnyOf(parts, origin)
        text = cast(str, raw)
        if text in self.declared_guards:
            return GuardName(text, origin)
        if _DOTTED.fullmatch(text):
            return GuardCall(text, origin)
        if _BARE_NAME.fullmatch(text) and text not in ("model", "context", "True", "False"):
            self.unknown_guard(text, path)
            return GuardName(text, origin)
        return self.expression(text, path)

    def expression(self, text: str, path: DataPath) -> GuardExpression:
        try:
            compile_expression(text)
        except ExpressionProblem as problem:
            location = self.source_map.text(path).shifted(problem.offset)
            self.diagnostics.append(Diagnostic(problem.code, problem.message, location))
        return GuardExpression(text, Origin(self.source_map, path))

    def unknown_guard(self, name: str, path: DataPath) -> None:
        known = sorted(self.declared_guards)
        suggestion = self.suggester.did_you_mean(name, known)
        choices = f"Declared guards: {listing(known)}." if known else "The machine declares no guards."
        self.diagnostics.append(
            Diagnostic(
                "SW202",
                f"Unknown guard {name!r}.{suggestion} {choices} Declare it under `guards`, or write a "
                "dotted path (`module:function`) or an expression over model/context.",
                self.source_map.text(path),
            )
        )

    # Work ------------------------------------------------------------------------------------
    def steps(self, raw: dict[str, Any]) -> Steps:
        return Steps(raw["when"], raw.get("processing"), raw["complete"], raw["error"])

    def task(self, name: str, raw: dict[str, Any]) -> TaskSpec:
        return TaskSpec(
            name=name,
            run=raw["run"],
            steps=self.steps(raw),
            retries=raw.get("retries", DEFAULT_RETRIES),
            backoff=self.backoff(raw.get("backoff")),
            time_limit=parse_duration(raw["time_limit"]) if "time_limit" in raw else DEFAULT_TIME_LIMIT,
            queue=raw.get("queue"),
            description=raw.get("description"),
            origin=self.origin("tasks", name),
        )

    def endpoint(self, name: str, raw: dict[str, Any]) -> EndpointSpec:
        return EndpointSpec(
            name=name,
            url=raw["url"],
            steps=self.steps(raw),
            method=cast(HttpMethod, raw.get("method", "GET")),
            headers=_frozen(raw.get("headers")),
            payload=raw.get("payload"),
            response=raw.get("response"),
            timeout=parse_duration(raw["timeout"]) if "timeout" in raw else DEFAULT_HTTP_TIMEOUT,
            retries=raw.get("retries", DEFAULT_RETRIES),
            backoff=self.backoff(raw.get("backoff")),
            queue=raw.get("queue"),
            redact=tuple(raw.get("redact", ())),
            description=raw.get("description"),
            origin=self.origin("endpoints", name),
            accept_redirects=raw.get("accept_redirects", False),
        )

    def retrying(self, raw: dict[str, Any]) -> dict[str, Any]:
        """A listener's or reaction's ``retries``, ``backoff`` and ``time_limit``, with the tasks' defaults."""
        return {
            "retries": raw.get("retries", DEFAULT_RETRIES),
            "backoff": self.backoff(raw.get("backoff")),
            "time_limit": parse_duration(raw["time_limit"]) if "time_limit" in raw else DEFAULT_TIME_LIMIT,
        }

    @staticmethod
    def backoff(raw: dict[str, str] | None) -> Backoff:
        raw = raw or {}
        minimum = parse_duration(raw["min"]) if "min" in raw else DEFAULT_MIN_BACKOFF
        maximum = parse_duration(raw["max"]) if "max" in raw else max(DEFAULT_MAX_BACKOFF, minimum)
        return Backoff(minimum, maximum)


def build_spec(data: dict[str, Any], source_map: SourceMap) -> tuple[MachineSpec, list[Diagnostic]]:
    """Build the typed spec from data that passed the schema.

    Args:
        data: The schema-valid document.
        source_map: Its locations.

    Returns:
        The spec and the problems found on the way (guard expressions, unknown guard names).
    """
    builder = _SpecBuilder(data, source_map)
    return builder.build(), builder.diagnostics
