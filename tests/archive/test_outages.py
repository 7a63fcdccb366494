"""A full disk and an unusable temporary folder: one clear ``ArchiveUnavailable``, and nothing left behind.

The full disk is real: a 64 KiB tmpfs mounted for the test (this needs root, as in CI's container).
"""

from __future__ import annotations

import base64
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select

from engine.archive import Archiver, ArchiveSettings
from engine.cli import EXIT_PROBLEMS, EXIT_UNAVAILABLE, main
from engine.errors import ArchiveUnavailable
from engine.orm.tables import statuses
from tests.archive.conftest import add_history, archive_args, s3_client, start_moto

#: Bytes the small disk holds.
SMALL_DISK = 64 * 1024


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A folder on a 64 KiB tmpfs of its own."""
    mount = tmp_path / "small-disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={SMALL_DISK}", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"these tests mount a {SMALL_DISK}-byte tmpfs and need root: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def _incompressible_rows(engine: Engine, count: int) -> list[int]:
    """Rows whose archive is larger than the small disk, however well it is compressed."""
    return add_history(engine, count, payload={"blob": base64.b64encode(os.urandom(30_000)).decode()})


def _payload_count(engine: Engine, ids: list[int]) -> int:
    with engine.connect() as connection:
        return len(
            connection.execute(
                select(statuses.c.id).where(statuses.c.id.in_(ids), statuses.c.payload.is_not(None))
            ).all()
        )


def test_a_full_temporary_folder_is_one_clear_error_and_leaves_nothing_behind(
    engine: Engine, tmp_path: Path, small_disk: Path
) -> None:
    ids = _incompressible_rows(engine, 4)
    archiver = Archiver(engine, ArchiveSettings(uri=f"file://{tmp_path / 'archives'}", temp_dir=small_disk))
    with pytest.raises(
        ArchiveUnavailable,
        match=r"cannot use the temporary folder .*No space left on device\. "
        r"Free space there or choose another with --temp-dir",
    ):
        archiver.compress()
    assert _payload_count(engine, ids) == 4, "every payload stays in its row"
    assert list(small_disk.iterdir()) == [], "the half-built archive is removed"


def test_a_full_archive_disk_keeps_no_half_written_archive_so_the_next_run_fits(
    engine: Engine, tmp_path: Path, small_disk: Path
) -> None:
    big = _incompressible_rows(engine, 4)
    small = add_history(engine, 2)
    archiver = Archiver(engine, ArchiveSettings(uri=f"file://{small_disk / 'archives'}", temp_dir=tmp_path / "tmp"))
    with pytest.raises(ArchiveUnavailable, match="cannot write archive .*No space left on device"):
        archiver.compress(ids=big)
    assert list((small_disk / "archives").iterdir()) == [], "the half-written copy is removed"
    assert _payload_count(engine, big) == 4
    assert archiver.compress(ids=small).rows == 2, "the space is free again for the next run"
    assert archiver.restore(small).failed == {}


@pytest.mark.parametrize("temp", ["full", "not-a-folder"])
def test_compress_with_an_unusable_temp_dir_says_so_in_one_line(
    engine: Engine, tmp_path: Path, request: pytest.FixtureRequest, temp: str
) -> None:
    _incompressible_rows(engine, 4)
    if temp == "full":
        temp_dir = request.getfixturevalue("small_disk")
    else:
        (tmp_path / "a-file").write_text("not a folder")
        temp_dir = tmp_path / "a-file" / "tmp"
    result = CliRunner().invoke(
        main,
        [
            "compress",
            *archive_args(engine, f"file://{tmp_path / 'archives'}", temp_dir),
        ],
    )
    assert result.exit_code == EXIT_UNAVAILABLE, result.output
    assert result.output.strip().startswith(f"statewright compress: cannot use the temporary folder {temp_dir}: ")
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert isinstance(result.exception, SystemExit), "no exception escaped"


def test_restore_with_an_unusable_temp_dir_fails_each_row_with_the_reason(engine: Engine, tmp_path: Path) -> None:
    ids = add_history(engine, 2)
    uri = f"file://{tmp_path / 'archives'}"
    Archiver(engine, ArchiveSettings(uri=uri, temp_dir=tmp_path / "tmp")).compress()
    (tmp_path / "a-file").write_text("not a folder")
    result = CliRunner().invoke(
        main,
        [
            "restore",
            *archive_args(engine, uri, tmp_path / "a-file" / "tmp"),
            *map(str, ids),
        ],
    )
    assert result.exit_code == EXIT_PROBLEMS, result.output
    assert f"row {ids[0]}: FAILED, cannot use the temporary folder {tmp_path / 'a-file' / 'tmp'}" in result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit), "no exception escaped"


def test_compress_to_an_unreachable_s3_is_archive_unavailable_and_keeps_every_payload(
    engine: Engine, tmp_path: Path, s3_endpoint: str
) -> None:
    """A moto server of this test's own, stopped before the run."""
    process, endpoint = start_moto()
    s3_client(endpoint).create_bucket(Bucket="outage")
    process.terminate()
    process.wait(timeout=20)
    ids = add_history(engine, 3)
    archiver = Archiver(
        engine,
        ArchiveSettings(
            uri="s3://outage/history", temp_dir=tmp_path / "tmp", s3_endpoint_url=endpoint, s3_path_style=True
        ),
    )
    started = time.monotonic()
    with pytest.raises(ArchiveUnavailable, match=r"cannot write archive s3://outage/history/.*Could not connect"):
        archiver.compress()
    assert time.monotonic() - started < 30, "an unreachable store is reported in seconds, not after a minute"
    assert _payload_count(engine, ids) == 3
    assert list((tmp_path / "tmp").iterdir()) == []
