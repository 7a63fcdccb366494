"""Local scratch files in the temporary folder: archives being built, archives fetched for reading."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from engine.archive.settings import ARCHIVE_TEMP_ENV
from engine.errors import ArchiveUnavailable


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
        raise ArchiveUnavailable(f"cannot use the temporary folder {folder}: {exc.strerror or exc}. Free space "
                                 f"there or choose another with --temp-dir / {ARCHIVE_TEMP_ENV}.") from exc
    finally:
        try:
            path.unlink(missing_ok=True)
        except OSError:
            pass  # the folder itself is unusable: the error above already says so
