"""Read machine files from disk through every stage: YAML, schema, typed spec, semantic checks."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from engine.errors import ConfigurationError, DefinitionError
from engine.spec.build import build_spec
from engine.spec.checks import run_checks
from engine.spec.diagnostics import Diagnostic, Severity
from engine.spec.locations import Location
from engine.spec.model import MachineSpec
from engine.spec.reading import MAX_FILE_BYTES, ReadFile, decode_machine_bytes, read_machine_file, too_large
from engine.spec.schema import check_schema
from engine.spec.source import read_source

#: File name endings read as machine files when a folder is given.
MACHINE_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class CheckedFile:
    """The outcome of checking one file.

    Args:
        path: The file as the user named it.
        spec: The machine, when the file got far enough to build one.
        diagnostics: Every problem found, sorted by location.
    """

    path: str
    spec: MachineSpec | None
    diagnostics: tuple[Diagnostic, ...]

    @property
    def ok(self) -> bool:
        """No problem was found."""
        return not self.diagnostics

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        """The problems of error severity."""
        return tuple(d for d in self.diagnostics if d.severity is Severity.ERROR)


def check_text(text: str, file: str = "<string>") -> CheckedFile:
    """Check a machine given as text.

    Args:
        text: YAML source.
        file: The name to show in locations.

    Returns:
        The spec (when the text is well-formed and fits the schema) and every problem.
    """
    if len(text) > MAX_FILE_BYTES:
        return CheckedFile(file, None, (too_large(text[:MAX_FILE_BYTES], file),))
    loaded = read_source(text, file)
    diagnostics = list(loaded.diagnostics)
    spec = None
    if loaded.data is not None:
        shape = check_schema(loaded.data, loaded.source_map)
        # A refused value (an integer past 64 bits) stands in as its text: do not report it again as a string.
        diagnostics.extend(d for d in shape if d.location not in loaded.refused)
        if not shape:
            spec, built = build_spec(loaded.data, loaded.source_map)
            diagnostics.extend(built)
            diagnostics.extend(run_checks(spec))
    return CheckedFile(file, spec, tuple(sorted(set(diagnostics), key=Diagnostic.sort_key)))


def check_file(path: str | Path) -> CheckedFile:
    """Check one machine file; an unreadable file is reported, not raised.

    Args:
        path: The file.

    Returns:
        The outcome.
    """
    return _check_read(read_machine_file(path), str(path))


def check_bytes(data: bytes, file: str) -> CheckedFile:
    """Check a machine given as bytes (``statewright lint -`` reads standard input), located at ``file``.

    Args:
        data: The bytes, at most ``MAX_FILE_BYTES + 1`` of them (more is reported as too large anyway).
        file: The name to show in locations.

    Returns:
        The outcome; bytes that are not UTF-8 are an SW001 diagnostic.
    """
    return _check_read(decode_machine_bytes(data[: MAX_FILE_BYTES + 1], file), file)


def _check_read(read: ReadFile, shown: str) -> CheckedFile:
    if read.text is None:
        assert read.problem is not None
        return CheckedFile(shown, None, (read.problem,))
    return check_text(read.text, shown)


def find_machine_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Expand folders into the machine files below them (sorted); files are kept as given.

    Below a folder, anything named like a machine file that is not a folder is kept, so a FIFO, a device
    or a dangling link there is reported rather than silently skipped.

    Raises:
        FileNotFoundError: A path does not exist.
        ConfigurationError: A path is empty (``Path("")`` would mean the current folder).
    """
    for given in paths:
        if str(given) == "":
            raise ConfigurationError(
                "An empty path names no machine file or folder; give a file or folder (`.` for the current one)."
            )
        path = Path(given)
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix in MACHINE_SUFFIXES and not p.is_dir())
        elif path.exists():
            yield path
        else:
            raise FileNotFoundError(str(path))


def load_spec(path: str | Path) -> MachineSpec:
    """Load one machine file.

    Args:
        path: The YAML file.

    Returns:
        The validated machine.

    Raises:
        DefinitionError: The file has problems; all of them are attached, located.
    """
    checked = check_file(path)
    if checked.spec is None or checked.errors:
        raise DefinitionError(checked.errors or checked.diagnostics)
    return checked.spec


def _first_of_each(keys: Sequence[object | None]) -> dict[int, int]:
    """For each position whose key an earlier position already has, that earlier position (``None`` keys skip)."""
    first: dict[object, int] = {}
    repeats: dict[int, int] = {}
    for index, key in enumerate(keys):
        if key is not None:
            repeats_of = first.setdefault(key, index)
            if repeats_of != index:
                repeats[index] = repeats_of
    return repeats


def duplicate_names(named: Sequence[tuple[str, str, Location] | None]) -> dict[int, Diagnostic]:
    """Machine names used more than once.

    Args:
        named: For each file, its machine's name, the file and where the name is written (``None`` for a
            file without a machine).

    Returns:
        For the position of each file that repeats an earlier name, its diagnostic.
    """
    repeats = _first_of_each([entry[0] if entry else None for entry in named])
    problems: dict[int, Diagnostic] = {}
    for index, earlier in repeats.items():
        entry, first = named[index], named[earlier]
        assert entry is not None  # None entries are never repeats
        assert first is not None
        name, _, location = entry
        first_file = first[1]
        problems[index] = Diagnostic(
            "SW204", f"Machine name {name!r} is already used by {first_file}; machine names must be unique.", location
        )
    return problems


#: What a machine binds, for ``duplicate_bindings``: its name, its file, model, status column, and where
#: its ``model`` is written.
Binding = tuple[str, str, str, str, Location]


def duplicate_bindings(bound: Sequence[Binding | None]) -> dict[int, Diagnostic]:
    """Model status columns that more than one machine drives (the last one loaded would silently win).

    Args:
        bound: For each file, what its machine binds (``None`` for a file without a machine).

    Returns:
        For the position of each machine that binds a column an earlier one binds, its diagnostic.
    """
    repeats = _first_of_each([(entry[2], entry[3]) if entry else None for entry in bound])
    problems: dict[int, Diagnostic] = {}
    for index, earlier in repeats.items():
        entry, first = bound[index], bound[earlier]
        assert entry is not None  # None entries are never repeats
        assert first is not None
        name, _, model, field, location = entry
        first_name, first_file = first[:2]
        problems[index] = Diagnostic(
            "SW205",
            f"Machine {name!r} drives {model} column {field!r}, which machine {first_name!r} "
            f"({first_file}) already drives; a status column follows one machine. Give one of them another "
            "`field:` or merge the two machines.",
            location,
        )
    return problems


def binding_of(spec: MachineSpec) -> Binding:
    """What ``spec`` binds, as ``duplicate_bindings`` takes it."""
    return spec.name, spec.path, spec.model, spec.field, spec.origin.text("model")


def duplicate_machine_names(specs: Iterable[MachineSpec]) -> list[Diagnostic]:
    """One diagnostic for each machine whose name an earlier one already uses."""
    return list(duplicate_names([(spec.name, spec.path, spec.origin.text("name")) for spec in specs]).values())


def duplicate_definitions(specs: Iterable[MachineSpec]) -> list[Diagnostic]:
    """Problems between machines: a name used twice (SW204), a model's status column driven twice (SW205)."""
    specs = list(specs)
    return duplicate_machine_names(specs) + list(duplicate_bindings([binding_of(spec) for spec in specs]).values())


def load_specs(path: str | Path) -> dict[str, MachineSpec]:
    """Load every machine file in a folder (or one file), by machine name.

    Raises:
        DefinitionError: Any file has problems (all files' problems are attached), two files declare
            the same machine name, or two machines drive the same model's status column.
        FileNotFoundError: The path does not exist.
        ConfigurationError: The path is empty.
    """
    specs: list[MachineSpec] = []
    problems: list[Diagnostic] = []
    for file in find_machine_files([path]):
        checked = check_file(file)
        if checked.spec is None or checked.errors:
            problems.extend(checked.errors or checked.diagnostics)
        else:
            specs.append(checked.spec)
    problems.extend(duplicate_definitions(specs))
    if problems:
        raise DefinitionError(problems)
    return {spec.name: spec for spec in specs}
