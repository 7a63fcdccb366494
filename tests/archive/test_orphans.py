"""Archives a killed run stored but never committed are deleted by the next run; referenced ones never are."""

from __future__ import annotations

import os
import signal
import time
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, func, select

from engine.archive import Archiver, ArchiveSettings
from engine.cli import EXIT_OK, main
from engine.orm.tables import statuses
from tests.archive.conftest import add_history, archive_args
from tests.archive.test_faults import _archives
from tests.conftest import run_python

#: A compress run that SIGKILLs itself after its archive is stored and verified, before its rows are marked.
KILLED_BEFORE_COMMIT = """
import os, signal, sys
from datetime import timedelta
from pathlib import Path
from engine.archive import Archiver, ArchiveSettings
from engine.db import make_engine

def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)

Archiver._mark_archived = staticmethod(die)
database_url, uri, temp, endpoint = sys.argv[1:]
settings = ArchiveSettings(uri=uri, temp_dir=Path(temp), s3_endpoint_url=endpoint or None, s3_path_style=True)
Archiver(make_engine(database_url), settings).compress(older_than=timedelta(days=1))
"""


def _killed_before_commit(engine: Engine, settings: ArchiveSettings) -> str:
    """Run the killed compress; returns the URI of the archive it left behind."""
    run = run_python(
        "-c",
        KILLED_BEFORE_COMMIT,
        engine.url.render_as_string(hide_password=False),
        settings.uri,
        str(settings.temp_path),
        settings.s3_endpoint_url or "",
    )
    assert run.returncode == -signal.SIGKILL, run.stderr
    (orphan,) = _archives(settings)
    return orphan


def _compress(engine: Engine, settings: ArchiveSettings, *extra: str) -> str:
    command = [
        "compress",
        *archive_args(engine, settings.uri, settings.temp_path),
        "--older-than",
        "1d",
        *extra,
    ]
    if settings.s3_endpoint_url:
        command += ["--s3-endpoint-url", settings.s3_endpoint_url, "--s3-path-style"]
    result = CliRunner().invoke(main, command)
    assert result.exit_code == EXIT_OK, result.output
    return result.output


def _referenced(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(
            connection.scalars(select(statuses.c.archive_uri).distinct().where(statuses.c.archive_uri.is_not(None)))
        )


def test_a_run_killed_between_upload_and_commit_leaves_an_orphan_the_next_run_deletes(
    engine: Engine, settings: ArchiveSettings
) -> None:
    ids = add_history(engine, 5)
    orphan = _killed_before_commit(engine, settings)
    with engine.connect() as connection:
        assert (
            connection.scalar(select(func.count()).select_from(statuses).where(statuses.c.archive_uri.is_not(None)))
            == 0
        ), "the killed run committed nothing"

    output = _compress(engine, settings, "--gc-grace", "0s")

    assert f"deleted orphaned archive {orphan}" in output
    assert "compressed 5 rows into 1 archives" in output
    assert set(_archives(settings)) == _referenced(engine), "storage holds exactly the archives rows reference"
    assert orphan not in _archives(settings)
    assert len(Archiver(engine, settings).restore(ids).restored) == 5


def test_an_orphan_younger_than_the_grace_is_left_for_a_later_run(engine: Engine, settings: ArchiveSettings) -> None:
    add_history(engine, 3)
    orphan = _killed_before_commit(engine, settings)
    output = _compress(engine, settings)  # the default grace: one hour
    assert "deleted orphaned archive" not in output
    assert orphan in _archives(settings)
    assert Archiver(engine, settings).collect_orphans(grace=timedelta(0)) == (orphan,)


def test_files_compress_did_not_name_are_never_deleted(engine: Engine, tmp_path: Path) -> None:
    folder = tmp_path / "archives"
    folder.mkdir()
    others = [
        "notes.zip",
        "statewright-backup.zip",
        "statewright-20260101T000000-1-2-0123456789ab.zip.part",
        "statewright-20260101T000000-99999999999999999999-99999999999999999999-0123456789ab.zip",
    ]
    for name in others:
        (folder / name).write_bytes(b"not ours")
    archiver = Archiver(engine, ArchiveSettings(uri=f"file://{folder}", temp_dir=tmp_path / "tmp"))
    assert archiver.collect_orphans(grace=timedelta(0)) == ()
    assert sorted(path.name for path in folder.iterdir()) == sorted(others)


def test_an_archive_referenced_under_another_spelling_of_its_folder_is_kept(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    ids = add_history(engine, 3)
    relative = Archiver(engine, ArchiveSettings(uri="file://./archives", temp_dir=tmp_path / "tmp"))
    (uri,) = relative.compress().archives
    absolute = Archiver(engine, ArchiveSettings(uri=f"file://{tmp_path / 'archives'}", temp_dir=tmp_path / "tmp"))
    assert absolute.collect_orphans(grace=timedelta(0)) == ()
    assert uri.startswith("file://./archives/")
    assert len(absolute.restore(ids).restored) == 3


def test_scratch_files_killed_runs_left_in_the_temp_folder_are_removed_once_an_hour_old(
    engine: Engine, tmp_path: Path
) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    old = ["statewright-20260101T000000-1-20-0123456789ab.zip", f"statewright-restore-{'a' * 32}.zip"]
    young = ["statewright-20260101T000000-21-40-0123456789ab.zip"]
    foreign = ["statewright-notes.zip", "other.zip"]
    two_hours_ago = time.time() - 7200
    for name in old + young + foreign:
        (temp / name).write_bytes(b"partial")
        if name not in young:
            os.utime(temp / name, (two_hours_ago, two_hours_ago))
    Archiver(engine, ArchiveSettings(uri=f"file://{tmp_path / 'archives'}", temp_dir=temp)).collect_orphans()
    assert sorted(path.name for path in temp.iterdir()) == sorted(young + foreign)
