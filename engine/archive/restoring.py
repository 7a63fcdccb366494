"""Read archived entries back, one row at a time: for ``restore`` (the contents) and ``purge`` (the proof).

A damaged entry fails its row alone; a damaged or unreachable archive fails the rows it holds. Either
way the reason is kept per row, and every other row goes on.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from engine.archive.scratch import scratch_file
from engine.archive.settings import ArchiveSettings
from engine.archive.storage import Storage
from engine.archive.zips import ArchiveReader, decode_entry
from engine.errors import ArchiveError


@dataclass(frozen=True)
class ArchivedRow:
    """A history row as ``restore`` and ``purge`` see it: where its payload was archived."""

    id: int
    archive_uri: str
    archive_entry: str
    archive_sha256: str


@dataclass
class EntryReadout:
    """What reading a set of rows' entries found: each row's ``(payload, traceback)``, or why not."""

    contents: dict[int, tuple[Any, str | None]] = field(default_factory=dict)
    failed: dict[int, str] = field(default_factory=dict)


def by_archive(rows: Iterable[ArchivedRow]) -> dict[str, list[ArchivedRow]]:
    """Rows grouped by the archive holding them, so each archive is fetched once."""
    grouped: defaultdict[str, list[ArchivedRow]] = defaultdict(list)
    for row in rows:
        grouped[row.archive_uri].append(row)
    return dict(grouped)


def read_entries(storage: Storage, settings: ArchiveSettings, rows: Iterable[ArchivedRow]) -> EntryReadout:
    """Fetch each archive once and read, verify and decode every row's entry; never raises ``ArchiveError``."""
    readout = EntryReadout()
    for uri, archived in by_archive(rows).items():
        try:
            _read_archive(storage, settings, uri, archived, readout)
        except ArchiveError as exc:
            readout.failed.update({row.id: str(exc) for row in archived})
    return readout


def _read_archive(
    storage: Storage, settings: ArchiveSettings, uri: str, rows: list[ArchivedRow], readout: EntryReadout
) -> None:
    with scratch_file(settings.temp_path, f"statewright-restore-{uuid.uuid4().hex}.zip") as local:
        storage.fetch(uri, local)
        with ArchiveReader(local, uri, settings.max_entry_bytes) as reader:
            for row in rows:
                try:
                    content = reader.read(row.archive_entry, row.archive_sha256)
                    readout.contents[row.id] = decode_entry(uri, row.archive_entry, content)
                except ArchiveError as exc:
                    readout.failed[row.id] = str(exc)
