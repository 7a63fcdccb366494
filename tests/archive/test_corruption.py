"""Damaged, missing and unreachable archives: each failure stays with the rows it concerns, with a reason.

The archives are real: written by ``compress``, then damaged with byte edits or rebuilt members, in a
local folder and in S3 (moto). Nothing may escape ``restore`` but its result.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select, update

from engine.archive import Archiver, ArchiveSettings
from engine.cli import EXIT_PROBLEMS, main
from engine.orm.tables import statuses
from tests.archive import tampering
from tests.archive.conftest import add_history, archive_args, s3_client, sample_payload, start_moto

#: name of the damaged row's entry → the damage (and, for consistent rewrites, the new checksum).
Make = Callable[[str], Any]

#: Damage to one entry: only that row fails.
ENTRY_DAMAGE: list[tuple[str, Make, str]] = [
    ("flipped-byte", tampering.flip_byte_in, r"\.json is damaged"),
    ("bad-crc", tampering.bad_crc_of, r"\.json is damaged \(BadZipFile: Bad CRC-32"),
    ("encrypted-entry", tampering.encrypted, r"\.json is encrypted; Statewright never encrypts entries"),
    ("size-understated", tampering.size_understated, r"\.json is damaged"),
    ("entry-not-json", lambda name: tampering.entry_replaced(name, b"not json {"), r"\.json is not JSON"),
    ("entry-not-utf8", lambda name: tampering.entry_replaced(name, b"\xff\xfe\xfa"), r"\.json is not JSON"),
    ("entry-wrong-shape", lambda name: tampering.entry_replaced(name, b"[1, 2]"), r"JSON but not a payload entry"),
]

#: Damage to the archive as a whole: every row it holds fails.
ARCHIVE_DAMAGE: list[tuple[str, Make, str]] = [
    ("flipped-byte-in-manifest", lambda _: tampering.flip_byte_in("manifest.json"), r"manifest\.json is damaged"),
    ("truncated", lambda _: tampering.truncated, r"not a readable ZIP archive"),
    ("not-a-zip", lambda _: tampering.not_a_zip, r"not a readable ZIP archive"),
    ("manifest-missing", lambda _: tampering.without_manifest, r"has no entry manifest\.json"),
    ("manifest-not-json", lambda _: tampering.manifest(b"{not json"), r"unreadable manifest"),
    ("manifest-a-list", lambda _: tampering.manifest(b"[]"), r"unreadable manifest"),
    ("manifest-entries-a-number", lambda _: tampering.manifest(b'{"entries": 5}'), r"unreadable manifest"),
    (
        "manifest-entry-without-name",
        lambda _: tampering.manifest(b'{"entries": [{"sha256": "0"}]}'),
        r"unreadable manifest",
    ),
]


def _rows(engine: Engine, ids: list[int]) -> dict[int, Any]:
    with engine.connect() as connection:
        return {row.id: row for row in connection.execute(select(statuses).where(statuses.c.id.in_(ids)))}


def _damage(settings: ArchiveSettings, engine: Engine, uri: str, row_id: int, make: Make) -> None:
    made = make(f"{row_id}.json")
    if isinstance(made, tuple):  # a consistent rewrite: the database records the new checksum too
        made, sha = made
        with engine.begin() as connection:
            connection.execute(update(statuses).where(statuses.c.id == row_id).values(archive_sha256=sha))
    tampering.rewrite(settings, uri, made)


def _assert_only_these_failed(engine: Engine, ids: list[int], result: Any, failed: set[int], reason: str) -> None:
    assert set(result.failed) == failed, result.failed
    for row_id in failed:
        assert re.search(reason, result.failed[row_id]), result.failed[row_id]
    assert set(result.restored) == set(ids) - failed
    rows = _rows(engine, ids)
    for n, row_id in enumerate(ids):
        if row_id in failed:
            assert rows[row_id].payload is None, "a failed row is left as it was"
            assert rows[row_id].restored_at is None
        else:
            assert rows[row_id].payload == sample_payload(n), "every other row is restored, exactly"


@pytest.mark.parametrize(("make", "reason"), [case[1:] for case in ENTRY_DAMAGE], ids=[c[0] for c in ENTRY_DAMAGE])
def test_a_damaged_entry_fails_its_row_alone_and_every_other_row_restores(
    archiver: Archiver, engine: Engine, settings: ArchiveSettings, make: Make, reason: str
) -> None:
    ids = add_history(engine, 6)
    damaged, _ = archiver.compress(batch=3).archives
    _damage(settings, engine, damaged, ids[1], make)
    _assert_only_these_failed(engine, ids, archiver.restore(ids), {ids[1]}, reason)


@pytest.mark.parametrize(("make", "reason"), [case[1:] for case in ARCHIVE_DAMAGE], ids=[c[0] for c in ARCHIVE_DAMAGE])
def test_a_damaged_archive_fails_its_rows_and_the_other_archives_restore(
    archiver: Archiver, engine: Engine, settings: ArchiveSettings, make: Make, reason: str
) -> None:
    ids = add_history(engine, 6)
    damaged, _ = archiver.compress(batch=3).archives
    _damage(settings, engine, damaged, ids[1], make)
    _assert_only_these_failed(engine, ids, archiver.restore(ids), set(ids[:3]), reason)


def test_a_missing_archive_fails_its_rows_and_the_other_archives_restore(
    archiver: Archiver, engine: Engine, settings: ArchiveSettings
) -> None:
    ids = add_history(engine, 6)
    missing, _ = archiver.compress(batch=3).archives
    if settings.uri.startswith("file://"):
        tampering.local_path(missing).unlink()
    else:
        assert settings.s3_endpoint_url is not None
        bucket, key = missing.removeprefix("s3://").split("/", 1)
        s3_client(settings.s3_endpoint_url).delete_object(Bucket=bucket, Key=key)
    _assert_only_these_failed(engine, ids, archiver.restore(ids), set(ids[:3]), r"cannot read archive")


@pytest.mark.parametrize("outage", ["server-stopped", "bucket-deleted"])
def test_unreachable_s3_storage_fails_the_rows_with_a_reason(
    engine: Engine, tmp_path: Path, s3_endpoint: str, outage: str
) -> None:
    """A moto server of this test's own, stopped or emptied of its bucket after the archives were written."""
    process, endpoint = start_moto()
    try:
        s3_client(endpoint).create_bucket(Bucket="outage")
        settings = ArchiveSettings(
            uri="s3://outage/history", temp_dir=tmp_path / "building", s3_endpoint_url=endpoint, s3_path_style=True
        )
        ids = add_history(engine, 4)
        archiver = Archiver(engine, settings)
        assert archiver.compress(batch=2).rows == 4
        if outage == "server-stopped":
            process.terminate()
            process.wait(timeout=20)
        else:
            client = s3_client(endpoint)
            for item in client.list_objects_v2(Bucket="outage")["Contents"]:
                client.delete_object(Bucket="outage", Key=item["Key"])
            client.delete_bucket(Bucket="outage")
        result = archiver.restore(ids)
    finally:
        process.terminate()
        process.wait(timeout=20)
    assert set(result.failed) == set(ids)
    assert all(reason.startswith("cannot read archive s3://outage/history/") for reason in result.failed.values())
    assert result.restored == ()


def test_restore_reports_damaged_rows_on_the_command_line_without_a_traceback(engine: Engine, tmp_path: Path) -> None:
    ids = add_history(engine, 4)
    settings = ArchiveSettings(uri=f"file://{tmp_path / 'archives'}", temp_dir=tmp_path / "building")
    damaged, _ = Archiver(engine, settings).compress(batch=2).archives
    tampering.rewrite(settings, damaged, tampering.encrypted(f"{ids[0]}.json"))
    result = CliRunner().invoke(
        main,
        [
            "restore",
            *archive_args(engine, settings.uri, settings.temp_path),
            *map(str, ids),
        ],
    )
    assert result.exit_code == EXIT_PROBLEMS, result.output
    assert f"row {ids[0]}: FAILED, {damaged}: {ids[0]}.json is encrypted" in result.output
    assert "restored 3 rows, skipped 0, failed 1" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
