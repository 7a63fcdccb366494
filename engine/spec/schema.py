"""Check loaded data against ``machine.schema.json`` and turn each failure into a located diagnostic."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, cast

from jsonschema import Draft7Validator, FormatChecker
from jsonschema.exceptions import ValidationError as SchemaViolation
from jsonschema.exceptions import best_match

from engine.spec.diagnostics import Diagnostic
from engine.spec.durations import parse_duration
from engine.spec.locations import DataPath, SourceMap
from engine.spec.suggestions import Suggester, listing

#: File name of the machine format's JSON Schema.
SCHEMA_FILE = "machine.schema.json"

# Pattern failures get the code of the kind of string that failed, told apart by the schema's title.
_CODE_BY_TITLE = {
    "identifier": "SW105",
    "state name": "SW105",
    "dotted path": "SW106",
    "duration": "SW107",
    "event name": "SW108",
    "color": "SW109",
}
_DURATION_SHAPE = re.compile(r"([0-9]+(ms|s|m|h|d|w))+")
_TYPE_NAMES = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "nothing",
}


def schema_path() -> Path:
    """Where the machine schema is: inside an installed wheel, or at the top of a source checkout."""
    packaged = resources.files("engine").joinpath("schemas").joinpath(SCHEMA_FILE)
    if packaged.is_file():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / "schemas" / SCHEMA_FILE


@cache
def load_schema() -> dict[str, Any]:
    """The machine schema as a mapping (read once per process)."""
    with schema_path().open(encoding="utf-8") as handle:
        schema: dict[str, Any] = json.load(handle)
    return schema


_FORMATS = FormatChecker(formats=())


@_FORMATS.checks("statewright-duration", raises=ValueError)
def _duration_in_range(instance: object) -> bool:
    """Well-formed durations must also be short enough (ill-formed ones are the pattern's to report)."""
    if isinstance(instance, str) and _DURATION_SHAPE.fullmatch(instance):
        parse_duration(instance)
    return True


@_FORMATS.checks("statewright-positive-duration", raises=ValueError)
def _positive_duration(instance: object) -> bool:
    """A time limit (or an endpoint's timeout) of zero would stop every run at once."""
    if isinstance(instance, str) and _DURATION_SHAPE.fullmatch(instance) and not parse_duration(instance):
        raise ValueError(f"{instance!r} is no time at all; a time limit must be longer than zero (e.g. 30s)")
    return True


@cache
def _validator() -> Draft7Validator:
    return Draft7Validator(inline_references(load_schema()), format_checker=_FORMATS)


def inline_references(schema: dict[str, Any]) -> dict[str, Any]:
    """Replace each local ``$ref`` by a copy of its definition, except where a definition refers to itself.

    The result validates exactly like the original, but jsonschema no longer resolves a reference at
    every value it visits, which is most of the cost of validating a machine.
    """
    definitions = schema.get("definitions", {})

    def inline(node: Any, open_refs: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [inline(item, open_refs) for item in node]
        if not isinstance(node, dict):
            return node
        reference = node.get("$ref")
        if isinstance(reference, str) and reference.startswith("#/definitions/"):
            name = reference.rsplit("/", 1)[-1]
            if name in open_refs:  # recursive (guard trees): keep the reference
                return node
            return inline(definitions[name], (*open_refs, name))
        return {key: inline(value, open_refs) for key, value in node.items()}

    inlined: dict[str, Any] = inline({k: v for k, v in schema.items() if k != "definitions"}, ())
    inlined["definitions"] = definitions
    return inlined


def check_schema(data: Any, source_map: SourceMap) -> list[Diagnostic]:
    """Validate ``data`` against the machine schema.

    Args:
        data: The document as read from YAML.
        source_map: Locations for the document's values and keys.

    Returns:
        One diagnostic per problem, each at the offending key or value.
    """
    diagnostics: list[Diagnostic] = []
    suggester = Suggester()
    for violation in _validator().iter_errors(data):
        diagnostics.extend(_describe(violation, source_map, suggester))
    return diagnostics


def _schema(violation: SchemaViolation) -> dict[str, Any]:
    return cast(dict[str, Any], violation.schema)


def _expected(violation: SchemaViolation) -> Any:
    return violation.validator_value


def _instance(violation: SchemaViolation) -> Any:
    return violation.instance


def _describe(violation: SchemaViolation, source_map: SourceMap, suggester: Suggester) -> Iterator[Diagnostic]:
    path: DataPath = tuple(violation.absolute_path)
    kind: Any = violation.validator
    if kind in ("anyOf", "oneOf"):
        yield from _describe_alternatives(violation, source_map, suggester)
    elif kind == "additionalProperties":
        yield from _unknown_keys(violation, source_map, suggester)
    elif kind == "required":
        missing = violation.message.split("'")[1]
        where = _where(path, _instance(violation))
        yield Diagnostic(
            "SW102", f"{where[0].upper()}{where[1:]} misses the required key {missing!r}.", source_map.key(path)
        )
    elif kind == "type":
        wanted = _wanted(_expected(violation))
        yield Diagnostic(
            "SW103", f"{_subject(path)} must be {wanted}, not {_kind_of(_instance(violation))}.", source_map.value(path)
        )
    elif kind == "pattern":
        yield _pattern(violation, path, source_map)
    elif kind == "format":
        yield _format(violation, path, source_map)
    else:
        yield Diagnostic("SW104", _value_message(violation, path), source_map.value(path))


def _describe_alternatives(
    violation: SchemaViolation, source_map: SourceMap, suggester: Suggester
) -> Iterator[Diagnostic]:
    path: DataPath = tuple(violation.absolute_path)
    instance = _instance(violation)
    branches = [_resolve(branch) for branch in _expected(violation)]
    fitting = [i for i, branch in enumerate(branches) if _type_fits(branch, instance)]
    if not fitting:
        title = _schema(violation).get("title", "value")
        description = _schema(violation).get("description", "")
        yield Diagnostic(
            "SW103",
            f"{_subject(path)} must be a {title}, not {_kind_of(instance)}. {description}",
            source_map.value(path),
        )
        return
    if isinstance(instance, dict):
        fitting = _branches_naming_present_keys(fitting, branches, instance)
        if not fitting:
            yield _no_branch_key(path, instance, branches, source_map, suggester)
            return
    elif len(fitting) > 1:
        # A `const` alternative (like "*") explains less than the general form beside it.
        fitting = [i for i in fitting if "const" not in branches[i]] or fitting
    relevant = [e for e in violation.context or () if e.schema_path and e.schema_path[0] in fitting]
    best = best_match(relevant) if relevant else None
    if best is None:
        yield Diagnostic("SW104", _value_message(violation, path), source_map.value(path))
    else:
        yield from _describe(best, source_map, suggester)


def _branches_naming_present_keys(
    fitting: list[int], branches: list[dict[str, Any]], instance: dict[str, Any]
) -> list[int]:
    return [i for i in fitting if all(key in instance for key in branches[i].get("required", ()))]


def _no_branch_key(
    path: DataPath,
    instance: dict[str, Any],
    branches: list[dict[str, Any]],
    source_map: SourceMap,
    suggester: Suggester,
) -> Diagnostic:
    allowed = sorted({key for branch in branches for key in branch.get("properties", {})})
    strangers = [key for key in instance if key not in allowed]
    if not strangers:
        return Diagnostic(
            "SW104", f"{_subject(path)} must hold exactly one of: {', '.join(allowed)}.", source_map.value(path)
        )
    key = strangers[0]
    suggestion = suggester.did_you_mean(str(key), allowed)
    return Diagnostic(
        "SW101",
        f"Unknown key {_shown(key)} in {_subject(path)}.{suggestion} Allowed keys: {', '.join(allowed)}.",
        source_map.key(path + (key,)),
    )


def _resolve(branch: dict[str, Any]) -> dict[str, Any]:
    """Follow a local ``$ref`` (the schema only uses ``#/definitions/NAME``)."""
    while "$ref" in branch:
        branch = load_schema()["definitions"][branch["$ref"].rsplit("/", 1)[-1]]
    return branch


def _unknown_keys(violation: SchemaViolation, source_map: SourceMap, suggester: Suggester) -> Iterator[Diagnostic]:
    path: DataPath = tuple(violation.absolute_path)
    allowed = sorted(_schema(violation).get("properties", {}))
    where = _where(path, _instance(violation))
    for key in _instance(violation):
        if key in allowed:
            continue
        suggestion = suggester.did_you_mean(str(key), allowed)
        yield Diagnostic(
            "SW101",
            f"Unknown key {_shown(key)} in {where}.{suggestion} Allowed keys: {listing(allowed)}.",
            source_map.key(path + (key,)),
        )


def _pattern(violation: SchemaViolation, path: DataPath, source_map: SourceMap) -> Diagnostic:
    title = _schema(violation).get("title", "value")
    code = _CODE_BY_TITLE.get(title, "SW104")
    description = _schema(violation).get("description", "")
    instance = _instance(violation)
    is_key = "propertyNames" in violation.schema_path
    location = source_map.key(path + (instance,)) if is_key else source_map.value(path)
    subject = f"The name {_shown(instance)}" if is_key else f"{_subject(path)} ({_shown(instance)})"
    return Diagnostic(code, f"{subject} is not a valid {title}. {description}".strip(), location)


def _format(violation: SchemaViolation, path: DataPath, source_map: SourceMap) -> Diagnostic:
    title = _schema(violation).get("title", "value")
    reason = str(violation.cause) if violation.cause is not None else violation.message
    return Diagnostic(_CODE_BY_TITLE.get(title, "SW104"), f"{_subject(path)}: {reason}.", source_map.value(path))


def _shown(value: Any, limit: int = 60) -> str:
    """A value's repr, cut short: a message quotes the value, not a megabyte of it."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 4]}...{text[-1]}"


def _value_message(violation: SchemaViolation, path: DataPath) -> str:
    kind, expected, instance = violation.validator, _expected(violation), _instance(violation)
    subject = _subject(path)
    if kind == "enum":
        return f"{subject} is {_shown(instance)}; allowed: {', '.join(map(str, expected))}."
    if kind == "const":
        return f"{subject} is {_shown(instance)}; the only supported value is {expected!r}."
    if kind in ("minimum", "maximum"):
        bound = "at least" if kind == "minimum" else "at most"
        return f"{subject} is {_shown(instance)}; it must be {bound} {expected}."
    if kind in ("minItems", "minProperties"):
        return f"{subject} is empty; give at least {expected} entr{'y' if expected == 1 else 'ies'}."
    if kind == "minLength":
        return f"{subject} is empty."
    if kind == "uniqueItems":
        return f"{subject} lists an entry twice."
    return f"{subject}: {violation.message}."


def _subject(path: DataPath) -> str:
    if not path:
        return "The document"
    return f"'{_dotted(path)}'"


def _where(path: DataPath, instance: Any) -> str:
    if not path:
        return "the machine"
    name = instance.get("name") if isinstance(instance, dict) else None
    named = f" ({name!r})" if isinstance(name, str) else ""
    return f"'{_dotted(path)}'{named}"


def _dotted(path: DataPath) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _wanted(types: Any) -> str:
    names = [types] if isinstance(types, str) else list(types)
    return " or ".join(_TYPE_NAMES.get(name, name) for name in names)


def _kind_of(instance: Any) -> str:
    if isinstance(instance, bool):
        return f"the boolean {str(instance).lower()}"
    if instance is None:
        return "nothing (null)"
    if isinstance(instance, int | float):
        return f"the number {instance}"
    if isinstance(instance, str):
        return f"the string {_shown(instance)}"
    return "a list" if isinstance(instance, list) else "a mapping"


def _type_fits(branch: dict[str, Any], instance: Any) -> bool:
    declared = branch.get("type")
    if declared is None:
        return "const" not in branch or isinstance(instance, type(branch["const"]))
    types = [declared] if isinstance(declared, str) else declared
    return any(Draft7Validator.TYPE_CHECKER.is_type(instance, name) for name in types)
