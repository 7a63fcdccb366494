"""Write generated files without ever replacing one that exists."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Written:
    """What a run wrote, and what it found already there and kept."""

    created: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)


def write_new(folder: Path, files: Mapping[str, str]) -> Written:
    """Write each ``relative path → text`` under ``folder`` that does not exist yet.

    Raises:
        OSError: A folder cannot be made or a file written (permissions, a file where a folder should be).
    """
    written = Written()
    for relative, text in files.items():
        path = folder / relative
        if path.exists():
            written.kept.append(path)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("x", encoding="utf-8") as handle:  # "x": a file appearing meanwhile is not replaced
            handle.write(text)
        written.created.append(path)
    return written
