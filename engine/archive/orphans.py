"""Find and delete orphaned archives: ones a killed ``compress`` run copied to storage but never committed.

Safety comes from a fence in the database, not from timing. Every compress batch holds the fence shared
from before its upload until its commit (a PostgreSQL transaction-level advisory lock; on SQLite the
batch's write lock does the same). Collection lists storage first, then takes the fence exclusively and,
holding it, deletes only the listed archives that no row references. Holding it, no batch is between
upload and commit, so an unreferenced archive can only belong to a run that died: a killed process's
connection ends and its lock goes with it. An archive a run uploads after the listing is not a candidate.

An age grace (``DEFAULT_ORPHAN_GRACE``) is kept on top, for runs the fence cannot see: a run of an older
Statewright without the fence, during a rolling upgrade.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, select, text

from engine.archive.storage import Storage, StoredArchive
from engine.db import begin_write
from engine.orm.tables import statuses

#: Stored archives younger than this are never collected (see the module docstring for why).
DEFAULT_ORPHAN_GRACE = timedelta(hours=1)
#: The names ``compress`` gives archives: a time, the first and last row id, a random part. Nothing else
#: in the storage folder is ever touched.
ARCHIVE_NAME = re.compile(
    r"\Astatewright-[0-9]{8}T[0-9]{6}-(?P<first>[0-9]{1,20})-(?P<last>[0-9]{1,20})"
    r"-[0-9a-f]{12}\.zip\Z"
)
#: The advisory lock key of the fence on PostgreSQL (any constant that no other code uses).
FENCE_KEY = 0x5374_6172_6368_6976
#: Candidates checked per query.
_CHUNK = 500
#: The largest id a BIGINT holds.
_MAX_ROW_ID = 2**63 - 1


def hold_fence_shared(connection: Connection) -> None:
    """Called by each compress batch first thing in its transaction; held until it commits or dies."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock_shared(:key)"), {"key": FENCE_KEY})


def _hold_fence_exclusive(connection: Connection) -> None:
    """Waits until no compress batch is between upload and commit; new batches then wait for us."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": FENCE_KEY})


def collect_orphans(engine: Engine, storage: Storage, *, grace: timedelta, now: datetime) -> tuple[str, ...]:
    """Delete the archives in storage that no history row references and that are older than ``grace``.

    Returns:
        The URIs deleted.

    Raises:
        ArchiveUnavailable: Storage could not be listed or an orphan could not be deleted.
    """
    listed = [
        archive for archive in storage.archives() if _span(archive) is not None and archive.modified_at <= now - grace
    ]
    # Most archives are referenced by their first row: settle those without the fence.
    candidates = _unreferenced_by_first_row(engine, listed)
    if not candidates:
        return ()
    with begin_write(engine) as connection:
        _hold_fence_exclusive(connection)
        orphans = [archive for archive in candidates if not _referenced(connection, archive)]
        for archive in orphans:
            storage.delete(archive.uri)
    return tuple(archive.uri for archive in orphans)


def _span(archive: StoredArchive) -> tuple[int, int] | None:
    """The archive's first and last row id, from its name; ``None`` for a name ``compress`` never gives."""
    match = ARCHIVE_NAME.match(archive.name)
    if match is None or not int(match["first"]) <= int(match["last"]) <= _MAX_ROW_ID:
        return None
    return int(match["first"]), int(match["last"])


def _first_row(archive: StoredArchive) -> int:
    span = _span(archive)
    return span[0] if span is not None else 0


def _points_at(uri: str | None, archive: StoredArchive) -> bool:
    # By name, not by whole URI: the same folder may be written as a relative or an absolute URI.
    return uri is not None and uri.endswith(f"/{archive.name}")


def _unreferenced_by_first_row(engine: Engine, listed: Sequence[StoredArchive]) -> list[StoredArchive]:
    unsettled: list[StoredArchive] = []
    with engine.connect() as connection:
        for start in range(0, len(listed), _CHUNK):
            chunk = listed[start : start + _CHUNK]
            firsts = {_first_row(archive) for archive in chunk}
            uris = {
                row.id: row.archive_uri
                for row in connection.execute(
                    select(statuses.c.id, statuses.c.archive_uri).where(statuses.c.id.in_(firsts))
                )
            }
            unsettled += [archive for archive in chunk if not _points_at(uris.get(_first_row(archive)), archive)]
    return unsettled


def _referenced(connection: Connection, archive: StoredArchive) -> bool:
    """Whether any row of the archive's id range records it (rows can have been deleted, so look at all)."""
    span = _span(archive)
    if span is None:
        return True  # never a candidate; kept rather than guessed about
    uris = connection.scalars(
        select(statuses.c.archive_uri)
        .distinct()
        .where(statuses.c.id.between(*span), statuses.c.archive_uri.is_not(None))
    )
    return any(_points_at(uri, archive) for uri in uris)
