"""What ``lint`` produces for each file, shared by the checker and the reporters."""

from __future__ import annotations

from dataclasses import dataclass

from engine.spec import Diagnostic, Location


@dataclass(frozen=True)
class LintResult:
    """One file's outcome, small enough to send back from a worker process.

    Args:
        path: The file as the user named it.
        machine: The machine's name, when the file got far enough to have one.
        diagnostics: Every problem, sorted by location.
        name_location: Where the machine's name is written, for checks across files.
    """

    path: str
    machine: str | None
    diagnostics: tuple[Diagnostic, ...]
    name_location: Location | None = None
