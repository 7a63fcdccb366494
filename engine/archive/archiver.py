"""Compress, restore and purge history payloads.

``compress`` moves the payload and traceback of old history rows into ZIP archives. Per batch, in one
transaction: lock the rows (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, SQLite's write lock otherwise),
write the archive in the temporary folder, copy it to storage, read it back and compare checksums,
and only then null the payloads and record archive URI, entry and SHA-256. A run killed at any point
rolls back and leaves every payload in place; the archive it may have copied is never referenced, a
rerun writes a new one under a new name, and ``collect_orphans`` deletes the old one (see
``engine.archive.orphans``). Concurrent runs lock disjoint rows, so no row is archived twice.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, Text, bindparam, cast, func, select, text, update
from sqlalchemy.sql.elements import ColumnElement

from engine.archive.orphans import DEFAULT_ORPHAN_GRACE, collect_orphans, hold_fence_shared
from engine.archive.restoring import ArchivedRow, read_entries
from engine.archive.scratch import remove_leftovers, scratch_file
from engine.archive.settings import ArchiveSettings
from engine.archive.storage import Storage
from engine.archive.zips import WrittenEntry, write_archive
from engine.db import begin_write
from engine.errors import ArchiveCorrupt, ConfigurationError
from engine.orm.tables import statuses
from engine.runtime.clock import now_of

#: Rows older than this are compressed, and restored rows older than this purged, unless told otherwise.
DEFAULT_OLDER_THAN = timedelta(days=2)
#: History rows per archive.
DEFAULT_BATCH = 1000

#: PostgreSQL records a whole batch in one statement, its rows passed as three arrays.
_MARK_ARCHIVED_PG = text("""
    UPDATE statuses SET payload = NULL, exception_traceback = NULL, archive_uri = :uri, archive_entry = batch.entry,
           archive_sha256 = batch.sha, archived_at = :now, restored_at = NULL
    FROM unnest(CAST(:ids AS BIGINT[]), CAST(:entries AS TEXT[]), CAST(:shas AS TEXT[])) AS batch (row_id, entry, sha)
    WHERE statuses.id = batch.row_id AND statuses.archived_at IS NULL
""")

#: Called after each archive with the number of rows it took.
Progress = Callable[[int], None]


@dataclass(frozen=True)
class CompressResult:
    """What ``compress`` did."""

    rows: int = 0
    archives: tuple[str, ...] = ()
    #: The payloads' size as archived (JSON), and the archives' size.
    bytes_before: int = 0
    bytes_after: int = 0


@dataclass(frozen=True)
class RestoreResult:
    """What ``restore`` did: rows restored, rows left alone (and why), rows that failed (and why)."""

    restored: tuple[int, ...] = ()
    skipped: dict[int, str] = field(default_factory=dict)
    failed: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PurgeResult:
    """What ``purge`` did: rows cleared, and rows left restored because their archive did not verify (and why)."""

    purged: tuple[int, ...] = ()
    failed: dict[int, str] = field(default_factory=dict)


def _now() -> datetime:
    return datetime.now(UTC)


def _has_payload() -> ColumnElement[bool]:
    return (statuses.c.payload.is_not(None)) | (statuses.c.exception_traceback.is_not(None))


def _entry_content(payload_json: str | None, traceback: str | None) -> bytes:
    """``{"payload": …, "exception_traceback": …}``, with the payload's JSON text exactly as stored."""
    return (
        f'{{"payload":{payload_json or "null"},"exception_traceback":{json.dumps(traceback, ensure_ascii=False)}}}'
    ).encode()


class Archiver:
    """Payload archiving over one database.

    Args:
        engine: The database holding ``statuses``.
        settings: Where archives go (default: from the environment, see ``ArchiveSettings.from_env``).
    """

    def __init__(self, engine: Engine, settings: ArchiveSettings | None = None) -> None:
        self.engine = engine
        self.settings = settings if settings is not None else ArchiveSettings.from_env()
        self.storage = Storage(self.settings)

    # Compress --------------------------------------------------------------------------------
    def pending(self, *, older_than: timedelta = DEFAULT_OLDER_THAN, now: datetime | None = None) -> int:
        """How many rows ``compress`` would archive now."""
        with self.engine.connect() as connection:
            count = connection.scalar(
                select(func.count())
                .select_from(statuses)
                .where(self._compressible(older_than, now or now_of(connection)))
            )
        return count or 0

    def compress(
        self,
        *,
        older_than: timedelta = DEFAULT_OLDER_THAN,
        batch: int = DEFAULT_BATCH,
        ids: Sequence[int] | None = None,
        progress: Progress | None = None,
        now: datetime | None = None,
    ) -> CompressResult:
        """Archive the payloads of rows older than ``older_than`` (or exactly the rows ``ids``), ``batch`` per archive.

        Raises:
            ConfigurationError: ``batch`` is less than 1.
            ArchiveError: Storage could not be written or the copy did not read back intact, or the
                temporary folder is unusable (``ArchiveUnavailable``); the batch being written keeps its
                payloads and leaves no file behind, earlier batches stay archived.
        """
        if batch < 1:
            raise ConfigurationError(f"compress(batch={batch!r}): give a batch of at least 1 row.")
        # History times are the database's: "older than" is judged by its clock too.
        when = now or self._database_now()
        where = (
            statuses.c.id.in_(ids) & statuses.c.archived_at.is_(None) & _has_payload()
            if ids is not None
            else self._compressible(older_than, when)
        )
        rows = bytes_before = bytes_after = 0
        archives: list[str] = []
        while True:
            done = self._compress_batch(where, batch, when)
            if done is None:
                break
            uri, count, before, after = done
            rows, bytes_before, bytes_after = rows + count, bytes_before + before, bytes_after + after
            archives.append(uri)
            if progress is not None:
                progress(count)
            if count < batch:
                break
        return CompressResult(rows, tuple(archives), bytes_before, bytes_after)

    def _database_now(self) -> datetime:
        with self.engine.connect() as connection:
            return now_of(connection)

    @staticmethod
    def _compressible(older_than: timedelta, now: datetime) -> ColumnElement[bool]:
        return statuses.c.archived_at.is_(None) & (statuses.c.created_at < now - older_than) & _has_payload()

    def collect_orphans(
        self, *, grace: timedelta = DEFAULT_ORPHAN_GRACE, now: datetime | None = None
    ) -> tuple[str, ...]:
        """Delete archives that killed runs copied to storage but never committed; no row references them.

        Safe while other runs compress (see ``engine.archive.orphans``). Archives younger than ``grace``
        are left for a later call. Only names ``compress`` gives are considered. Scratch files killed
        runs left in the temporary folder are removed too, once an hour old.

        Returns:
            The URIs deleted.

        Raises:
            ArchiveUnavailable: Storage could not be listed, or an orphan could not be deleted.
        """
        remove_leftovers(self.settings.temp_path)
        return collect_orphans(self.engine, self.storage, grace=grace, now=now or _now())

    def _compress_batch(
        self, where: ColumnElement[bool], batch: int, now: datetime
    ) -> tuple[str, int, int, int] | None:
        with begin_write(self.engine) as connection:
            hold_fence_shared(connection)
            # The payload as the database holds its JSON text: no decoding and encoding it again.
            rows = connection.execute(
                select(statuses.c.id, cast(statuses.c.payload, Text), statuses.c.exception_traceback)
                .where(where)
                .order_by(statuses.c.id)
                .limit(batch)
                .with_for_update(skip_locked=True)
            ).all()
            if not rows:
                return None
            contents = [(row_id, _entry_content(payload, traceback)) for row_id, payload, traceback in rows]
            name = f"statewright-{now:%Y%m%dT%H%M%S}-{rows[0].id}-{rows[-1].id}-{uuid.uuid4().hex[:12]}.zip"
            uri, entries, size = self._store(name, contents)
            try:
                self._mark_archived(connection, uri, entries, now)
            except BaseException:
                # Nothing will reference it. (A failed COMMIT may have happened anyway, so that case
                # is left to collect_orphans, which checks.)
                self.storage.discard(uri)
                raise
        return uri, len(rows), sum(len(content) for _, content in contents), size

    def _store(self, name: str, contents: list[tuple[int, bytes]]) -> tuple[str, list[WrittenEntry], int]:
        """Build the archive locally, copy it to storage and read the copy back; returns (URI, entries, size).

        The stored bytes must hash to the bytes sent; every entry's own SHA-256 is checked on restore.
        A failure leaves nothing behind: the local file is always removed, a stored copy when it is bad.
        """
        with scratch_file(self.settings.temp_path, name) as local:
            entries = write_archive(local, contents)
            size = local.stat().st_size
            uri, sent = self.storage.put(local, name)
        try:
            stored = self.storage.sha256(uri)
        except BaseException:
            self.storage.discard(uri)
            raise
        if stored != sent:
            self.storage.discard(uri)
            raise ArchiveCorrupt(
                f"{uri}: the stored copy differs from the archive written; it was deleted, "
                f"and the rows keep their payloads. Check the storage and run again."
            )
        return uri, entries, size

    @staticmethod
    def _mark_archived(connection: Connection, uri: str, entries: Sequence[WrittenEntry], now: datetime) -> None:
        if connection.dialect.name == "postgresql":
            connection.execute(
                _MARK_ARCHIVED_PG,
                {
                    "uri": uri,
                    "now": now,
                    "ids": [e.row_id for e in entries],
                    "entries": [e.name for e in entries],
                    "shas": [e.sha256 for e in entries],
                },
            )
            return
        connection.execute(
            update(statuses)
            .where(statuses.c.id == bindparam("row_id"), statuses.c.archived_at.is_(None))
            .values(
                payload=None,
                exception_traceback=None,
                archive_uri=uri,
                archive_entry=bindparam("entry"),
                archive_sha256=bindparam("sha"),
                archived_at=now,
                restored_at=None,
            ),
            [{"row_id": e.row_id, "entry": e.name, "sha": e.sha256} for e in entries],
        )

    # Restore ---------------------------------------------------------------------------------
    def restore(self, ids: Sequence[int], *, now: datetime | None = None) -> RestoreResult:
        """Bring archived payloads back into their rows, checking every entry against its recorded SHA-256.

        A row whose entry is damaged fails alone; a row whose archive is missing, unreachable or damaged
        as a whole fails with the other rows of that archive (so does every row when the temporary
        folder is unusable). Each failure keeps its reason in ``failed``, changes nothing and stops
        nothing: every other row is restored. No ``ArchiveError`` is raised.
        """
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(
                    statuses.c.id,
                    statuses.c.archive_uri,
                    statuses.c.archive_entry,
                    statuses.c.archive_sha256,
                    statuses.c.restored_at,
                ).where(statuses.c.id.in_(ids))
            ).all()
        found = {row.id: row for row in rows}
        skipped = {row_id: "no such history row" for row_id in ids if row_id not in found}
        wanted: list[ArchivedRow] = []
        for row in found.values():
            if row.archive_uri is None:
                skipped[row.id] = "not archived"
            elif row.restored_at is not None:
                skipped[row.id] = "already restored"
            else:
                wanted.append(ArchivedRow(row.id, row.archive_uri, row.archive_entry or "", row.archive_sha256 or ""))
        readout = read_entries(self.storage, self.settings, wanted)
        if readout.contents:
            self._write_restored(readout.contents, {row.id: row.archive_sha256 for row in wanted}, now or _now())
        return RestoreResult(tuple(sorted(readout.contents)), skipped, readout.failed)

    def restore_object(self, machine: str, model_id: str) -> RestoreResult:
        """Restore every archived payload of one object's history."""
        with self.engine.connect() as connection:
            ids = connection.scalars(
                select(statuses.c.id).where(
                    statuses.c.machine == machine,
                    statuses.c.model_id == model_id,
                    statuses.c.archive_uri.is_not(None),
                    statuses.c.restored_at.is_(None),
                )
            ).all()
        return self.restore(list(ids))

    def _write_restored(
        self, contents: dict[int, tuple[object, str | None]], shas: dict[int, str], now: datetime
    ) -> None:
        statement = (
            update(statuses)
            .where(
                statuses.c.id == bindparam("row_id"),
                statuses.c.archive_sha256 == bindparam("sha"),
                statuses.c.restored_at.is_(None),
            )
            .values(
                payload=bindparam("payload", type_=statuses.c.payload.type),
                exception_traceback=bindparam("traceback"),
                restored_at=now,
            )
        )
        with begin_write(self.engine) as connection:
            connection.execute(
                statement,
                [
                    {"row_id": row_id, "sha": shas[row_id], "payload": payload, "traceback": traceback}
                    for row_id, (payload, traceback) in contents.items()
                ],
            )

    # Purge -----------------------------------------------------------------------------------
    def purge(
        self,
        *,
        older_than: timedelta = DEFAULT_OLDER_THAN,
        ids: Sequence[int] | None = None,
        now: datetime | None = None,
    ) -> PurgeResult:
        """Clear restored payloads again: rows restored more than ``older_than`` ago (or exactly ``ids``).

        A payload is cleared only once its archive has been read and its entry verified (name, manifest,
        SHA-256): a row whose archive is gone or damaged stays restored and is reported in ``failed``.

        Returns:
            The rows cleared (their payloads stay in the archives) and the rows left restored, with why.
            No ``ArchiveError`` is raised.
        """
        restored = statuses.c.restored_at.is_not(None) & statuses.c.archive_uri.is_not(None)
        where = restored & (
            statuses.c.id.in_(ids) if ids is not None else statuses.c.restored_at < (now or _now()) - older_than
        )
        with self.engine.connect() as connection:
            rows = [
                ArchivedRow(row.id, row.archive_uri, row.archive_entry or "", row.archive_sha256 or "")
                for row in connection.execute(
                    select(statuses.c.id, statuses.c.archive_uri, statuses.c.archive_entry, statuses.c.archive_sha256)
                    .where(where)
                    .order_by(statuses.c.id)
                )
            ]
        readout = read_entries(self.storage, self.settings, rows)
        verified = [row for row in rows if row.id in readout.contents]
        if verified:
            # Still restored from the same archive entry: a concurrent purge or restore changes nothing here.
            statement = (
                update(statuses)
                .where(
                    statuses.c.id == bindparam("row_id"),
                    statuses.c.archive_sha256 == bindparam("sha"),
                    statuses.c.restored_at.is_not(None),
                )
                .values(payload=None, exception_traceback=None, restored_at=None)
            )
            with begin_write(self.engine) as connection:
                connection.execute(statement, [{"row_id": row.id, "sha": row.archive_sha256} for row in verified])
        return PurgeResult(tuple(row.id for row in verified), readout.failed)
