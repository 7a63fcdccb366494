"""What ``lint`` produces for each file, shared by the checker and the reporters."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from engine.spec import Diagnostic, Location
from engine.spec.loader import Binding

#: Most diagnostics ``statewright lint`` reports for one file; the others are counted and reported as
#: "and N more". A file that repeats one mistake thousands of times needs its first few fixed, not all listed.
MAX_DIAGNOSTICS_PER_FILE = 100


@dataclass(frozen=True)
class LintResult:
    """One file's outcome, small enough to send back from a worker process.

    Args:
        path: The file as the user named it.
        machine: The machine's name, when the file got far enough to have one.
        diagnostics: The problems reported, sorted by location (at most ``MAX_DIAGNOSTICS_PER_FILE``).
        name_location: Where the machine's name is written, for checks across files.
        omitted: How many more problems were found but not kept.
        binding: The model and status column the machine drives, for checks across files.
    """

    path: str
    machine: str | None
    diagnostics: tuple[Diagnostic, ...]
    name_location: Location | None = None
    omitted: int = 0
    binding: Binding | None = None

    @property
    def found(self) -> int:
        """Every problem found, reported or not."""
        return len(self.diagnostics) + self.omitted

    def with_diagnostics(self, more: Iterable[Diagnostic]) -> LintResult:
        """A copy with more problems merged in (sorted, still capped)."""
        merged = tuple(sorted(set(self.diagnostics) | set(more), key=Diagnostic.sort_key))
        return capped(self, merged, self.omitted)


def capped(result: LintResult, diagnostics: tuple[Diagnostic, ...], omitted: int = 0) -> LintResult:
    """``result`` holding the first ``MAX_DIAGNOSTICS_PER_FILE`` of ``diagnostics`` and counting the rest."""
    kept = diagnostics[:MAX_DIAGNOSTICS_PER_FILE]
    return replace(result, diagnostics=kept, omitted=omitted + len(diagnostics) - len(kept))
