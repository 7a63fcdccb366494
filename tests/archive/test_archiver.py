"""Compress, restore, purge: payloads move into verified archives and come back exactly."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, update

from engine.archive import Archiver, ArchiveSettings
from engine.archive.storage import Storage
from engine.orm.tables import statuses
from tests.archive.conftest import add_history, sample_payload


def _rows(engine: Engine, ids: list[int]) -> dict[int, Any]:
    with engine.connect() as connection:
        return {row.id: row for row in connection.execute(select(statuses).where(statuses.c.id.in_(ids)))}


def _archive_bytes(settings: ArchiveSettings, uri: str) -> bytes:
    local = settings.temp_path / "fetched.zip"
    settings.temp_path.mkdir(parents=True, exist_ok=True)
    Storage(settings).fetch(uri, local)
    return local.read_bytes()


def test_compress_archives_old_payloads_and_records_where_they_went(
    archiver: Archiver, engine: Engine, settings: ArchiveSettings
) -> None:
    old = add_history(engine, 25)
    failed = add_history(engine, 1, payload=None, traceback="Traceback (most recent call last): ...")
    recent = add_history(engine, 3, created_at=datetime.now(UTC))
    empty = add_history(engine, 2, payload=None)
    assert archiver.pending() == 26

    result = archiver.compress(batch=10)

    assert result.rows == 26
    assert len(result.archives) == 3, "26 rows in batches of 10"
    assert result.bytes_after < result.bytes_before
    rows = _rows(engine, old + failed + recent + empty)
    for row_id in old + failed:
        row = rows[row_id]
        assert row.payload is None
        assert row.exception_traceback is None
        assert row.archive_uri in result.archives
        assert row.archive_entry == f"{row_id}.json"
        assert len(row.archive_sha256) == 64
        assert row.archived_at is not None
    for row_id in recent:
        assert rows[row_id].payload == sample_payload(recent.index(row_id)), "recent rows keep their payload"
        assert rows[row_id].archive_uri is None
    for row_id in empty:
        assert rows[row_id].archive_uri is None, "nothing to archive"
    assert archiver.pending() == 0
    assert archiver.compress().rows == 0


def test_the_archive_holds_one_entry_per_row_and_a_manifest_of_checksums(
    archiver: Archiver, engine: Engine, settings: ArchiveSettings
) -> None:
    import hashlib

    ids = add_history(engine, 5)
    (uri,) = archiver.compress().archives
    with zipfile.ZipFile(io.BytesIO(_archive_bytes(settings, uri))) as archive:
        names = sorted(archive.namelist())
        manifest = json.loads(archive.read("manifest.json"))
        contents = {name: archive.read(name) for name in names if name != "manifest.json"}
    assert names == sorted(["manifest.json", *(f"{row_id}.json" for row_id in ids)])
    listed = {entry["name"]: entry for entry in manifest["entries"]}
    rows = _rows(engine, ids)
    for row_id in ids:
        name = f"{row_id}.json"
        assert listed[name]["sha256"] == hashlib.sha256(contents[name]).hexdigest() == rows[row_id].archive_sha256
        assert listed[name]["row_id"] == row_id
        assert json.loads(contents[name])["payload"] == sample_payload(ids.index(row_id))


def test_restore_brings_payloads_back_exactly_and_purge_clears_them_again(archiver: Archiver, engine: Engine) -> None:
    ids = add_history(engine, 4)
    failed = add_history(engine, 1, payload={"request": None}, traceback="Traceback: boom ✗")
    archiver.compress(batch=2)

    result = archiver.restore([ids[0], ids[3], *failed, 999_999])
    assert result.restored == tuple(sorted([ids[0], ids[3], *failed]))
    assert result.skipped == {999_999: "no such history row"}
    assert result.failed == {}
    rows = _rows(engine, ids + failed)
    assert rows[ids[0]].payload == sample_payload(0)
    assert rows[ids[3]].payload == sample_payload(3)
    assert rows[failed[0]].payload == {"request": None}
    assert rows[failed[0]].exception_traceback == "Traceback: boom ✗"
    assert rows[ids[0]].restored_at is not None
    assert rows[ids[1]].payload is None, "only the rows asked for come back"
    assert archiver.restore([ids[0]]).skipped == {ids[0]: "already restored"}

    assert archiver.purge().purged == (), "restored just now: not older than two days"
    assert len(archiver.purge(now=datetime.now(UTC) + timedelta(days=3)).purged) == 3
    rows = _rows(engine, ids + failed)
    assert rows[ids[0]].payload is None
    assert rows[ids[0]].restored_at is None
    assert rows[ids[0]].archive_uri is not None, "still archived: it can be restored again"
    assert archiver.restore([ids[0]]).restored == (ids[0],)


def test_restore_an_objects_history(archiver: Archiver, engine: Engine) -> None:
    ids = add_history(engine, 3)  # model ids "0", "1", "2"
    archiver.compress()
    assert archiver.restore_object("document", "1").restored == (ids[1],)
    assert archiver.restore_object("document", "1").restored == (), "nothing left to restore"


def test_a_row_that_was_never_archived_is_skipped(archiver: Archiver, engine: Engine) -> None:
    (row_id,) = add_history(engine, 1, created_at=datetime.now(UTC))
    assert archiver.restore([row_id]).skipped == {row_id: "not archived"}


def test_compress_by_row_ignores_age(archiver: Archiver, engine: Engine) -> None:
    recent = add_history(engine, 3, created_at=datetime.now(UTC))
    assert archiver.compress(ids=[recent[1]]).rows == 1
    rows = _rows(engine, recent)
    assert [rows[row_id].archive_uri is not None for row_id in recent] == [False, True, False]


class TestRestoreTrustsNothingInTheArchive:
    """A tampered archive or a row pointing at an unsafe name fails that row, changes nothing, reads nothing."""

    @pytest.fixture
    def settings(self, tmp_path: Path) -> ArchiveSettings:
        return ArchiveSettings(uri=f"file://{tmp_path / 'archives'}", temp_dir=tmp_path / "building")

    def _tamper(self, uri: str, name: str, content: bytes) -> None:
        path = Path(uri.removeprefix("file://"))
        with zipfile.ZipFile(path) as archive:
            entries = {info.filename: archive.read(info) for info in archive.infolist()}
        entries[name] = content
        with zipfile.ZipFile(path, "w") as archive:
            for entry, data in entries.items():
                archive.writestr(entry, data)

    def test_an_entry_that_fails_its_checksum(self, archiver: Archiver, engine: Engine) -> None:
        (row_id,) = add_history(engine, 1)
        (uri,) = archiver.compress().archives
        self._tamper(uri, f"{row_id}.json", b'{"payload": "forged", "exception_traceback": null}')
        result = archiver.restore([row_id])
        assert "does not match its checksum" in result.failed[row_id]
        assert _rows(engine, [row_id])[row_id].restored_at is None

    def test_an_archive_with_two_entries_of_the_same_name(self, archiver: Archiver, engine: Engine) -> None:
        (row_id,) = add_history(engine, 1)
        (uri,) = archiver.compress().archives
        with (
            pytest.warns(UserWarning, match="Duplicate name"),
            zipfile.ZipFile(Path(uri.removeprefix("file://")), "a") as archive,
        ):
            archive.writestr(f"{row_id}.json", b'{"payload": "second", "exception_traceback": null}')
        assert "2 entries are named" in archiver.restore([row_id]).failed[row_id]

    def test_a_manifest_that_does_not_list_the_recorded_checksum(self, archiver: Archiver, engine: Engine) -> None:
        (row_id,) = add_history(engine, 1)
        archiver.compress()
        with engine.begin() as connection:
            connection.execute(update(statuses).values(archive_sha256="0" * 64))
        assert "manifest does not list" in archiver.restore([row_id]).failed[row_id]

    @pytest.mark.parametrize("name", ["../../etc/passwd", "/etc/passwd", "manifest.json", "1.json/../x"])
    def test_an_unsafe_entry_name(self, archiver: Archiver, engine: Engine, name: str) -> None:
        (row_id,) = add_history(engine, 1)
        archiver.compress()
        with engine.begin() as connection:
            connection.execute(update(statuses).values(archive_entry=name))
        assert "refusing entry name" in archiver.restore([row_id]).failed[row_id]

    def test_an_entry_over_the_size_cap(self, engine: Engine, settings: ArchiveSettings) -> None:
        (row_id,) = add_history(engine, 1)
        Archiver(engine, settings).compress()
        small = ArchiveSettings(uri=settings.uri, temp_dir=settings.temp_dir, max_entry_bytes=100)
        assert "over the 100-byte limit" in Archiver(engine, small).restore([row_id]).failed[row_id]

    def test_a_missing_archive(self, archiver: Archiver, engine: Engine) -> None:
        (row_id,) = add_history(engine, 1)
        (uri,) = archiver.compress().archives
        Path(uri.removeprefix("file://")).unlink()
        assert "cannot read archive" in archiver.restore([row_id]).failed[row_id]


def test_unwritable_storage_keeps_every_payload(engine: Engine, tmp_path: Path) -> None:
    from engine.errors import ArchiveUnavailable

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the archive folder should be")
    archiver = Archiver(engine, ArchiveSettings(uri=f"file://{blocker}/archives", temp_dir=tmp_path / "building"))
    ids = add_history(engine, 3)
    with pytest.raises(ArchiveUnavailable):
        archiver.compress()
    rows = _rows(engine, ids)
    assert all(rows[row_id].payload is not None and rows[row_id].archive_uri is None for row_id in ids)
    assert list((tmp_path / "building").iterdir()) == [], "the half-built archive is removed"
