"""Where things are in a machine file: a ``Location`` and the ``SourceMap`` from data paths to locations."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

#: A path into the loaded data, as jsonschema spells it: mapping keys and sequence indices.
DataPath = tuple[str | int, ...]


@dataclass(frozen=True, order=True)
class Location:
    """A 1-based line and column in a file.

    Args:
        file: The path as the user gave it.
        line: 1-based line number.
        col: 1-based column number.
    """

    file: str
    line: int = 1
    col: int = 1

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"

    def shifted(self, columns: int) -> Location:
        """Return the location ``columns`` characters further along the same line."""
        return Location(self.file, self.line, self.col + columns)


class SourceMap:
    """Locations of every value and every mapping key of one loaded file.

    Args:
        file: The file the locations belong to.
        values: Data path to the location where that value starts.
        keys: Data path to the location of the mapping key that names that value.
        quoted: Data paths of scalars written in quotes (their text starts one column later).
    """

    def __init__(
        self,
        file: str,
        values: Mapping[DataPath, tuple[int, int]],
        keys: Mapping[DataPath, tuple[int, int]],
        quoted: Iterable[DataPath] = (),
    ) -> None:
        self.file = file
        self._values = values
        self._keys = keys
        self._quoted = frozenset(quoted)

    def value(self, path: DataPath) -> Location:
        """Location of the value at ``path``, or of its nearest recorded ancestor."""
        return self._nearest(self._values, path)

    def key(self, path: DataPath) -> Location:
        """Location of the key naming the value at ``path`` (the value itself for sequence items)."""
        if path in self._keys:
            return self._at(self._keys[path])
        return self.value(path)

    def text(self, path: DataPath) -> Location:
        """Location of the first character of a scalar's text (inside its quotes, if any)."""
        location = self.value(path)
        return location.shifted(1) if path in self._quoted else location

    def _nearest(self, table: Mapping[DataPath, tuple[int, int]], path: DataPath) -> Location:
        # Values reached through a YAML alias are recorded once, under their first path.
        for end in range(len(path), -1, -1):
            mark = table.get(path[:end])
            if mark is not None:
                return self._at(mark)
        return Location(self.file)

    def _at(self, mark: tuple[int, int]) -> Location:
        return Location(self.file, mark[0], mark[1])
