"""Local scratch files in the temporary folder: archives being built, archives fetched for reading."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from engine.archive.settings import ARCHIVE_TEMP_ENV
from engine.errors import ArchiveUnavailable

#: Seconds after which a scratch file of ours is a leftover of a killed process (no archive takes this long).
LEFTOVER_AGE = 3600
#: The scratch files Statewright makes: archives being built, archives fetched for reading.
SCRATCH_NAME = re.compile(r"\Astatewright-(?:[0-9]{8}T[0-9]{6}-[0-9]+-[0-9]+-[0-9a-f]{12}|restore-[0-9a-f]{32})\.zip\Z")


@contextmanager
def scratch_file(folder: Path, name: str) -> Iterator[Path]:
    """A path for ``name`` in ``folder``, which is made if missing; the file is removed afterwards, always.

    Raises:
        ArchiveUnavailable: The folder cannot be made or written (missing permission, a full disk). An
            ``OSError`` from the body counts as a failure of the folder: storage and archive errors are
            ``ArchiveError`` already.
    """
    path = folder / name
    try:
        folder.mkdir(parents=True, exist_ok=True)
        yield path
    except OSError as exc:
        raise ArchiveUnavailable(
            f"cannot use the temporary folder {folder}: {exc.strerror or exc}. Free space "
            f"there or choose another with --temp-dir / {ARCHIVE_TEMP_ENV}."
        ) from exc
    finally:
        try:
            path.unlink(missing_ok=True)
        except OSError:
            pass  # the folder itself is unusable: the error above already says so


def remove_leftovers(folder: Path, *, now: float | None = None) -> list[Path]:
    """Remove scratch files that killed processes left in ``folder`` (older than ``LEFTOVER_AGE``).

    The folder may be shared (the system's temporary folder), so only names Statewright gives are
    touched, and only once no run could still be writing them. Problems are ignored: this is tidying.
    """
    cutoff = (time.time() if now is None else now) - LEFTOVER_AGE
    removed: list[Path] = []
    try:
        for path in folder.iterdir():
            if SCRATCH_NAME.match(path.name) and path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
                removed.append(path)
    except OSError:
        pass
    return removed
