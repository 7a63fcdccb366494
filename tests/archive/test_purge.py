"""``purge`` clears a restored payload only once its archive entry is still there and still verifies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import Engine, select

from engine.archive import Archiver, ArchiveSettings
from engine.cli import EXIT_PROBLEMS, main
from engine.orm.tables import statuses
from tests.archive import tampering
from tests.archive.conftest import add_history, archive_args, s3_client, sample_payload

LATER = datetime.now(UTC) + timedelta(days=3)


def _payloads(engine: Engine, ids: list[int]) -> dict[int, object]:
    with engine.connect() as connection:
        return {
            row.id: row.payload
            for row in connection.execute(select(statuses.c.id, statuses.c.payload).where(statuses.c.id.in_(ids)))
        }


def _remove(settings: ArchiveSettings, uri: str) -> None:
    if uri.startswith("file://"):
        tampering.local_path(uri).unlink()
        return
    assert settings.s3_endpoint_url is not None
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    s3_client(settings.s3_endpoint_url).delete_object(Bucket=bucket, Key=key)


def test_purge_keeps_payloads_whose_archive_is_gone_or_damaged(
    archiver: Archiver, engine: Engine, settings: ArchiveSettings
) -> None:
    ids = add_history(engine, 6)
    gone, damaged, intact = archiver.compress(batch=2).archives
    assert len(archiver.restore(ids).restored) == 6
    _remove(settings, gone)
    tampering.rewrite(settings, damaged, tampering.flip_byte_in(f"{ids[2]}.json"))

    result = archiver.purge(now=LATER)

    payloads = _payloads(engine, ids)
    kept = ids[:3]
    assert [payloads[row_id] for row_id in kept] == [sample_payload(n) for n in range(3)], (
        "rows whose entry cannot be read back keep their restored payload"
    )
    assert [payloads[row_id] for row_id in ids[3:]] == [None, None, None]
    assert sorted(result.purged) == ids[3:], "the damaged archive's intact entry verifies and is purged"
    assert set(result.failed) == set(kept)
    assert "cannot read archive" in result.failed[ids[0]]
    assert f"{ids[2]}.json is damaged" in result.failed[ids[2]]
    assert intact.endswith(".zip")


def test_purge_on_the_command_line_reports_what_it_kept(engine: Engine, tmp_path: Path) -> None:
    ids = add_history(engine, 2)
    settings = ArchiveSettings(uri=f"file://{tmp_path / 'archives'}", temp_dir=tmp_path / "building")
    archiver = Archiver(engine, settings)
    (uri,) = archiver.compress().archives
    archiver.restore(ids)
    tampering.local_path(uri).unlink()
    result = CliRunner().invoke(
        main,
        [
            "purge",
            *archive_args(engine, settings.uri, settings.temp_path),
            "--older-than",
            "0s",
        ],
    )
    assert result.exit_code == EXIT_PROBLEMS, result.output
    assert f"row {ids[0]}: kept restored, cannot read archive {uri}" in result.output
    assert "purged 0 restored payloads, kept 2 whose archive did not verify" in result.output
    assert list(_payloads(engine, ids).values()) == [sample_payload(0), sample_payload(1)]
