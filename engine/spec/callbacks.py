"""The ``callbacks:`` section: build ``CallbackSpec``s and check what a schema cannot (states, steps, names)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Any, cast

from engine.spec.diagnostics import Diagnostic
from engine.spec.durations import parse_duration
from engine.spec.locations import SourceMap
from engine.spec.model import (
    DEFAULT_CALLBACK_MAX_BODY,
    DEFAULT_REPLAY_TTL,
    DEFAULT_SIGNATURE_TOLERANCE,
    CallableVerifier,
    CallbackSpec,
    HmacVerifier,
    MachineSpec,
    Origin,
    SignatureEncoding,
    SignatureFormat,
    Steps,
    Verifier,
)
from engine.spec.suggestions import Suggester, listing

#: A portable environment variable name (POSIX: upper-case letters, digits, underscores; no leading digit).
_ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")


def build_callbacks(data: Mapping[str, Any], source_map: SourceMap) -> Mapping[str, CallbackSpec]:
    """Build every callback of a schema-valid machine mapping.

    Args:
        data: The machine file's data.
        source_map: Its locations.

    Returns:
        Callback specs by name (the route defaults to the name).
    """
    return MappingProxyType(
        {
            name: build_callback(name, raw, Origin(source_map, ("callbacks", name)))
            for name, raw in data.get("callbacks", {}).items()
        }
    )


def build_callback(name: str, raw: Mapping[str, Any], origin: Origin) -> CallbackSpec:
    """One callback from its schema-valid mapping."""
    return CallbackSpec(
        name=name,
        route=raw.get("route", name),
        steps=Steps(raw["when"], None, raw["complete"], raw["error"]),
        verify=_verifier(raw["verify"]),
        handle=raw.get("handle"),
        delivery_header=raw.get("delivery_header"),
        replay_ttl=parse_duration(raw["replay_ttl"]) if "replay_ttl" in raw else DEFAULT_REPLAY_TTL,
        max_body=raw.get("max_body", DEFAULT_CALLBACK_MAX_BODY),
        redact=tuple(raw.get("redact", ())),
        description=raw.get("description"),
        origin=origin,
    )


def _verifier(raw: Mapping[str, Any]) -> Verifier:
    if "run" in raw:
        return CallableVerifier(raw["run"])
    return HmacVerifier(
        secret_env=raw["secret_env"],
        header=raw["header"],
        format=cast(SignatureFormat, raw.get("format", "plain")),
        prefix=raw.get("prefix", ""),
        encoding=cast(SignatureEncoding, raw.get("encoding", "hex")),
        timestamp_header=raw.get("timestamp_header"),
        tolerance=parse_duration(raw["tolerance"]) if "tolerance" in raw else DEFAULT_SIGNATURE_TOLERANCE,
    )


# Checks -----------------------------------------------------------------------------------------
def check_callbacks(spec: MachineSpec) -> Iterator[Diagnostic]:
    """States named by callbacks exist, their steps are legal moves, secrets and routes are well named."""
    yield from _check_states(spec)
    yield from _check_steps(spec)
    yield from _check_secret_names(spec)
    yield from _check_routes(spec)


def _check_states(spec: MachineSpec) -> Iterator[Diagnostic]:
    known = list(spec.states)
    listed, suggester = listing(known), Suggester()
    for callback in spec.callbacks.values():
        for step in ("when", "complete", "error"):
            name = getattr(callback.steps, step)
            if name not in spec.states:
                yield Diagnostic(
                    "SW201",
                    f"Unknown state {name!r} as `{step}` of callback {callback.name!r}."
                    f"{suggester.did_you_mean(name, known)} Known states: {listed}.",
                    callback.origin.text(step),
                )


def _check_steps(spec: MachineSpec) -> Iterator[Diagnostic]:
    # `from: "*"` transitions are kept by target alone, so the check stays linear in the file's size.
    allowed = {(source, t.target) for t in spec.transitions if not t.from_any for source in t.sources}
    to_from_anywhere = {t.target for t in spec.transitions if t.from_any}
    for callback in spec.callbacks.values():
        for step, source, target in callback.steps.moves():
            legal = (source, target) in allowed or target in to_from_anywhere
            if source in spec.states and target in spec.states and not legal:
                yield Diagnostic(
                    "SW309",
                    f"Callback {callback.name!r} moves objects from {source!r} to {target!r} (its `{step}` "
                    f"step), but no transition allows that move. Declare one, e.g. "
                    f"{{name: ..., from: {source}, to: {target}}}.",
                    callback.origin.text(step),
                )


def _check_secret_names(spec: MachineSpec) -> Iterator[Diagnostic]:
    for callback in spec.callbacks.values():
        verifier = callback.verify
        if isinstance(verifier, HmacVerifier) and not _ENV_NAME.fullmatch(verifier.secret_env):
            yield Diagnostic(
                "SW601",
                f"Callback {callback.name!r} reads its secret from {verifier.secret_env!r}, which is not an "
                "environment variable name; use upper-case letters, digits and underscores, e.g. "
                "PAYMENTS_WEBHOOK_SECRET.",
                callback.origin.text("verify", "secret_env"),
            )


def _check_routes(spec: MachineSpec) -> Iterator[Diagnostic]:
    owners: dict[str, str] = {}
    for callback in spec.callbacks.values():
        other = owners.setdefault(callback.route, callback.name)
        if other != callback.name:
            where = callback.origin.text("route") if _has(callback.origin, "route") else callback.origin.key()
            yield Diagnostic(
                "SW602",
                f"Callbacks {other!r} and {callback.name!r} both answer on route {callback.route!r}; "
                "give each its own `route`.",
                where,
            )


def _has(origin: Origin, key: str) -> bool:
    """Whether the file wrote ``key`` under this part (a missing key resolves to the part itself)."""
    return origin.at(key) != origin.at()


def callback_callables(spec: MachineSpec) -> Iterable[tuple[str, str, Origin, tuple[str | int, ...]]]:
    """Every (role, dotted path, origin, relative path) a callback names, for ``lint --resolve``."""
    for callback in spec.callbacks.values():
        if callback.handle is not None:
            yield f"handler of callback {callback.name!r}", callback.handle, callback.origin, ("handle",)
        if isinstance(callback.verify, CallableVerifier):
            yield f"verifier of callback {callback.name!r}", callback.verify.run, callback.origin, ("verify", "run")
