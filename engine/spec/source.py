"""Read a machine file's YAML into plain data plus a ``SourceMap``, with every problem located.

The document is built from the C parser's event stream with an explicit stack rather than
``yaml.compose``: libyaml's composer recurses in C and crashes the process on deeply nested
input, and building from events lets us keep every mark, reject duplicate keys, and stop
alias bombs before they expand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, NoReturn

import yaml

from engine.spec.diagnostics import Diagnostic
from engine.spec.locations import DataPath, Location, SourceMap

#: Deepest nesting of mappings and sequences accepted.
MAX_DEPTH = 64
#: Most values (scalars, mappings and lists) a document may hold once aliases are expanded. A machine of
#: 20 states holds about 300; the limit keeps any file's check to about a second.
MAX_VALUES = 50_000
#: Smallest integer a machine file may hold: what a signed 64-bit database column stores.
MIN_INT = -(2**63)
#: Largest integer a machine file may hold.
MAX_INT = 2**63 - 1

_STR_TAG = "tag:yaml.org,2002:str"
_COLLECTION_TAGS = {"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}
_NULL = re.compile(r"~|null|Null|NULL|")
_TRUE = re.compile(r"true|True|TRUE")
_FALSE = re.compile(r"false|False|FALSE")
# YAML 1.2 core schema, except that a leading zero keeps a number a string ("010" is not 8 or 10).
_INT = re.compile(r"[-+]?(0|[1-9][0-9]*)")
_HEX = re.compile(r"0x[0-9a-fA-F]+")
_OCT = re.compile(r"0o[0-7]+")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|(0|[1-9][0-9]*)(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_SPECIAL_FLOATS = {".inf": float("inf"), "+.inf": float("inf"), "-.inf": float("-inf"), ".nan": float("nan")}
# More decimal digits than this cannot fit in 64 bits; checked before int(), which refuses 4300+ digits.
_MAX_INT_DIGITS = len(str(MAX_INT))


class IntegerOutOfRange(ValueError):
    """Not raised to users: an integer scalar does not fit in 64 bits; the reader reports it as SW104."""


def _bounded_int(text: str, base: int) -> int:
    digits = text.lstrip("+-")[2 if base != 10 else 0 :].lstrip("0")
    if base == 10 and len(digits) > _MAX_INT_DIGITS:
        raise IntegerOutOfRange(text)
    value = int(text, base) if base == 10 else int(text[2:], base)
    if not MIN_INT <= value <= MAX_INT:
        raise IntegerOutOfRange(text)
    return value


def resolve_plain_scalar(text: str) -> Any:
    """Turn an unquoted scalar into a Python value by the YAML 1.2 core rules (``on`` stays a string).

    Raises:
        IntegerOutOfRange: An integer outside ``MIN_INT``..``MAX_INT``.

    >>> resolve_plain_scalar("on"), resolve_plain_scalar("010"), resolve_plain_scalar("10")
    ('on', '010', 10)
    """
    if _NULL.fullmatch(text):
        return None
    if _TRUE.fullmatch(text):
        return True
    if _FALSE.fullmatch(text):
        return False
    if _INT.fullmatch(text):
        return _bounded_int(text, 10)
    if _HEX.fullmatch(text):
        return _bounded_int(text, 16)
    if _OCT.fullmatch(text):
        return _bounded_int(text, 8)
    if _FLOAT.fullmatch(text) and any(ch.isdigit() for ch in text):
        return float(text)
    if text.lower() in _SPECIAL_FLOATS:
        return _SPECIAL_FLOATS[text.lower()]
    return text


@dataclass(frozen=True)
class LoadedSource:
    """A machine file read into plain data.

    Args:
        data: The document, or ``None`` when it could not be read.
        source_map: Locations of every value and key.
        diagnostics: Problems found while reading.
        refused: Where values were refused and replaced by their text (out-of-range integers), so later
            stages do not report them again as strings.
    """

    data: Any
    source_map: SourceMap
    diagnostics: tuple[Diagnostic, ...]
    refused: frozenset[Location] = frozenset()


class _Stop(Exception):
    """Not an error: reading cannot go on; the diagnostic has been recorded."""


@dataclass
class _Frame:
    container: dict[str, Any] | list[Any]
    path: DataPath
    anchor: str | None
    size: int = 1
    key: str | None = None
    key_mark: tuple[int, int] | None = None
    skip_value: bool = False


#: What YAML (and so every line number we report) counts as a line break.
LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")


class _LineLengths:
    """The length of every line of a text, worked out once (on first use) for clamping marks."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._lengths: list[int] | None = None

    def clamped(self, line: int, col: int) -> tuple[int, int]:
        """Keep a 1-based position inside the text: libyaml puts end-of-stream marks past the last line."""
        if self._lengths is None:
            self._lengths = [len(part) for part in LINE_BREAK.split(self._text)]
        lengths = self._lengths
        if line > len(lengths):
            return len(lengths), lengths[-1] + 1
        return line, min(col, lengths[line - 1] + 1)


@dataclass
class _Builder:
    file: str
    text: str
    values: dict[DataPath, tuple[int, int]] = field(default_factory=dict)
    keys: dict[DataPath, tuple[int, int]] = field(default_factory=dict)
    quoted: set[DataPath] = field(default_factory=set)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    refused: set[Location] = field(default_factory=set)
    anchors: dict[str, tuple[Any, int]] = field(default_factory=dict)
    stack: list[_Frame] = field(default_factory=list)
    lines: _LineLengths = field(init=False)
    total: int = 0
    documents: int = 0
    root: Any = None

    def __post_init__(self) -> None:
        self.lines = _LineLengths(self.text)

    def problem(self, code: str, message: str, mark: Any) -> None:
        self.diagnostics.append(Diagnostic(code, message, self.location(mark)))

    def stop(self, code: str, message: str, mark: Any) -> NoReturn:
        """Record a problem after which reading cannot go on."""
        self.problem(code, message, mark)
        raise _Stop

    def location(self, mark: Any) -> Location:
        return Location(self.file, *self.lines.clamped(mark.line + 1, mark.column + 1))

    def feed(self, event: yaml.Event) -> None:
        handler = _HANDLERS.get(type(event))
        if handler is not None:
            handler(self, event)

    # Documents -------------------------------------------------------------------------------
    def on_document_start(self, event: yaml.DocumentStartEvent) -> None:
        self.documents += 1
        if self.documents > 1:
            self.stop(
                "SW004",
                "A file holds one machine, but a second YAML document starts here. Move it to a file of its own.",
                event.start_mark,
            )

    # Values ----------------------------------------------------------------------------------
    def on_scalar(self, event: yaml.ScalarEvent) -> None:
        frame = self.stack[-1] if self.stack else None
        if frame is not None and isinstance(frame.container, dict) and frame.key is None:
            self.take_key(frame, event.value, event)
            if event.anchor:
                self.anchors[event.anchor] = (event.value, 1)
            return
        value = self.scalar_value(event)
        path = self.place(value, 1, event.start_mark)
        if event.style and path is not None:
            self.quoted.add(path)
        if event.anchor:
            self.anchors[event.anchor] = (value, 1)

    def scalar_value(self, event: yaml.ScalarEvent) -> Any:
        if event.tag not in (None, "!") and event.tag != _STR_TAG:
            self.problem(
                "SW004", f"YAML tag {event.tag!r} is not supported; machine files use plain values.", event.start_mark
            )
            return event.value
        if event.style or event.tag == _STR_TAG:
            return event.value
        try:
            return resolve_plain_scalar(event.value)
        except IntegerOutOfRange:
            self.refused.add(self.location(event.start_mark))
            shown = event.value if len(event.value) <= 24 else f"{event.value[:20]}... ({len(event.value)} digits)"
            self.problem(
                "SW104",
                f"The integer {shown} does not fit in 64 bits; numbers in a machine file lie "
                f"between {MIN_INT} and {MAX_INT}.",
                event.start_mark,
            )
            return event.value

    def on_alias(self, event: yaml.AliasEvent) -> None:
        if event.anchor is None or event.anchor not in self.anchors:
            self.stop(
                "SW004",
                f"Alias *{event.anchor} refers to no complete anchor before it "
                "(an alias cannot point into its own anchor).",
                event.start_mark,
            )
        value, size = self.anchors[event.anchor]
        frame = self.stack[-1] if self.stack else None
        if frame is not None and isinstance(frame.container, dict) and frame.key is None:
            if not isinstance(value, str):
                self.stop(
                    "SW004", "A mapping key must be a plain name, not an alias to a collection.", event.start_mark
                )
            self.take_key(frame, value, event)
            return
        self.place(value, size, event.start_mark)

    def on_collection_start(self, event: yaml.CollectionStartEvent) -> None:
        frame = self.stack[-1] if self.stack else None
        if frame is not None and isinstance(frame.container, dict) and frame.key is None:
            self.stop("SW004", "A mapping key must be a plain name, not a mapping or a list.", event.start_mark)
        if event.tag not in (None, "!") and event.tag not in _COLLECTION_TAGS:
            self.problem(
                "SW004", f"YAML tag {event.tag!r} is not supported; machine files use plain values.", event.start_mark
            )
        if len(self.stack) >= MAX_DEPTH:
            self.stop("SW005", f"The document nests deeper than {MAX_DEPTH} levels.", event.start_mark)
        container: dict[str, Any] | list[Any] = {} if isinstance(event, yaml.MappingStartEvent) else []
        self.total += 1  # a mapping or list costs the later stages as much as a scalar does
        path = self.place(container, 0, event.start_mark)
        self.stack.append(_Frame(container, path if path is not None else ("<dropped>",), event.anchor))

    def on_collection_end(self, event: yaml.CollectionEndEvent) -> None:
        frame = self.stack.pop()
        if frame.anchor:
            self.anchors[frame.anchor] = (frame.container, frame.size)
        if self.stack:
            self.stack[-1].size += frame.size

    # Placement -------------------------------------------------------------------------------
    def take_key(self, frame: _Frame, key: str, event: yaml.Event) -> None:
        assert isinstance(frame.container, dict)
        start = event.start_mark
        assert start is not None  # libyaml marks every event
        mark = (start.line + 1, start.column + 1)
        frame.skip_value = key in frame.container or key == "<<"
        if key == "<<":
            self.problem("SW004", "Merge keys (<<) are not supported; write the keys out.", event.start_mark)
            frame.key, frame.key_mark = key, mark
            return
        if frame.skip_value:
            first = self.keys.get(frame.path + (key,), mark)
            self.problem(
                "SW003",
                f"Duplicate key {key!r}; it was first given at line {first[0]}. Keep one of them.",
                event.start_mark,
            )
        frame.key, frame.key_mark = key, mark

    def place(self, value: Any, size: int, mark: Any) -> DataPath | None:
        """Put a value into the open collection (or make it the root); return its path."""
        self.total += size
        if self.total > MAX_VALUES:
            self.stop(
                "SW005",
                f"The document holds more than {MAX_VALUES} values (scalars, mappings and lists) "
                "once aliases are expanded; split the machine or drop repeated data.",
                mark,
            )
        point = (mark.line + 1, mark.column + 1)
        if not self.stack:
            self.root = value
            self.values[()] = point
            return ()
        frame = self.stack[-1]
        frame.size += size
        if isinstance(frame.container, list):
            path = frame.path + (len(frame.container),)
            frame.container.append(value)
        else:
            key, frame.key = frame.key, None
            assert key is not None
            assert frame.key_mark is not None
            path = frame.path + (key,)
            if frame.skip_value:
                return None
            frame.container[key] = value
            self.keys[path] = frame.key_mark
        self.values[path] = point
        return path


_HANDLERS: dict[type, Any] = {
    yaml.DocumentStartEvent: _Builder.on_document_start,
    yaml.ScalarEvent: _Builder.on_scalar,
    yaml.AliasEvent: _Builder.on_alias,
    yaml.MappingStartEvent: _Builder.on_collection_start,
    yaml.SequenceStartEvent: _Builder.on_collection_start,
    yaml.MappingEndEvent: _Builder.on_collection_end,
    yaml.SequenceEndEvent: _Builder.on_collection_end,
}


def read_source(text: str, file: str) -> LoadedSource:
    """Read YAML text into data; never raises for bad input, reports it as diagnostics.

    Args:
        text: The file's contents.
        file: The path to show in locations.

    Returns:
        The data (``None`` if nothing usable was read), its source map and the problems found.
    """
    builder = _Builder(file, text)
    try:
        for event in yaml.parse(text, Loader=yaml.CSafeLoader):
            builder.feed(event)
    except yaml.MarkedYAMLError as exc:
        builder.diagnostics.append(_syntax_diagnostic(exc, builder.lines, file))
        builder.root = None
    except yaml.reader.ReaderError as exc:  # control characters and the like; located by offset only
        builder.diagnostics.append(_reader_diagnostic(exc, text, file))
        builder.root = None
    except UnicodeEncodeError as exc:  # lone surrogates: only reachable from Python strings, not files
        line, col = _position(text, exc.start)
        builder.diagnostics.append(
            Diagnostic(
                "SW002",
                f"Not valid YAML: {text[exc.start]!r} is not a Unicode character that can be stored as UTF-8.",
                Location(file, line, col),
            )
        )
        builder.root = None
    except yaml.YAMLError as exc:  # anything else libyaml reports without a mark
        builder.diagnostics.append(Diagnostic("SW002", f"Not valid YAML: {exc}", Location(file)))
        builder.root = None
    except _Stop:
        builder.root = None
    if builder.root is None and not builder.diagnostics:
        builder.diagnostics.append(
            Diagnostic(
                "SW006",
                "The file is empty; a machine file holds one mapping "
                "with at least version, name, model, initial and states.",
                Location(file),
            )
        )
    source_map = SourceMap(file, builder.values, builder.keys, builder.quoted)
    return LoadedSource(builder.root, source_map, tuple(builder.diagnostics), frozenset(builder.refused))


def _syntax_diagnostic(exc: yaml.MarkedYAMLError, lines: _LineLengths, file: str) -> Diagnostic:
    mark = exc.problem_mark or exc.context_mark
    location = Location(file, *lines.clamped(mark.line + 1, mark.column + 1)) if mark else Location(file)
    problem = (exc.problem or "invalid YAML").rstrip(".")
    context = ""
    if exc.context:
        context = f" {exc.context}"
        if exc.context_mark is not None and exc.context_mark is not mark:
            context += f" started at line {exc.context_mark.line + 1}"
    return Diagnostic("SW002", f"Not valid YAML: {problem}{context}.", location)


def _position(text: str, index: int) -> tuple[int, int]:
    """1-based line and column of a character index, counting line breaks as YAML does."""
    lines = LINE_BREAK.split(text[:index])
    return len(lines), len(lines[-1]) + 1


def _reader_diagnostic(exc: yaml.reader.ReaderError, text: str, file: str) -> Diagnostic:
    line, col = _position(text, exc.position)
    character = exc.character if isinstance(exc.character, str) else chr(exc.character)
    return Diagnostic(
        "SW002",
        f"Not valid YAML: character {character!r} is not allowed in YAML ({exc.reason}).",
        Location(file, line, col),
    )
