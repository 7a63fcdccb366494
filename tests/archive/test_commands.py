"""The compress, restore and purge commands: summaries, exit codes, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select

from engine.cli import EXIT_OK, EXIT_PROBLEMS, EXIT_UNAVAILABLE, EXIT_USAGE, main
from engine.orm.tables import statuses
from tests.archive.conftest import add_history, archive_args


@pytest.fixture
def options(engine: Engine, tmp_path: Path) -> list[str]:
    return archive_args(engine, f"file://{tmp_path / 'archives'}", tmp_path / "building")


def test_compress_restore_purge(engine: Engine, options: list[str]) -> None:
    ids = add_history(engine, 12)
    runner = CliRunner()

    compressed = runner.invoke(main, ["compress", *options, "--batch", "5"])
    assert compressed.exit_code == EXIT_OK, compressed.output
    assert "compressed 12 rows into 3 archives:" in compressed.output
    assert " kB of payloads, " in compressed.output

    restored = runner.invoke(main, ["restore", *options, str(ids[0]), str(ids[1]), "424242"])
    assert restored.exit_code == EXIT_OK, restored.output
    assert "row 424242: skipped, no such history row" in restored.output
    assert "restored 2 rows, skipped 1, failed 0" in restored.output

    by_object = runner.invoke(main, ["restore", *options, "--object", "document:5"])
    assert "restored 1 rows" in by_object.output

    purged = runner.invoke(main, ["purge", *options, "--older-than", "0s"])
    assert purged.exit_code == EXIT_OK, purged.output
    assert "purged 3 restored payloads, kept 0" in purged.output
    with engine.connect() as connection:
        assert connection.scalar(select(statuses.c.payload).where(statuses.c.id == ids[0])) is None


def test_settings_come_from_the_environment(engine: Engine, tmp_path: Path) -> None:
    add_history(engine, 2)
    env = {
        "STATEWRIGHT_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "STATEWRIGHT_ARCHIVE_URI": f"file://{tmp_path / 'from-env'}",
        "STATEWRIGHT_ARCHIVE_TEMP": str(tmp_path / "tmp"),
    }
    result = CliRunner().invoke(main, ["compress"], env=env)
    assert result.exit_code == EXIT_OK, result.output
    assert len(list((tmp_path / "from-env").glob("*.zip"))) == 1


def test_a_failed_restore_exits_with_problems(engine: Engine, options: list[str], tmp_path: Path) -> None:
    (row_id,) = add_history(engine, 1)
    CliRunner().invoke(main, ["compress", *options])
    for archive in (tmp_path / "archives").glob("*.zip"):
        archive.unlink()
    result = CliRunner().invoke(main, ["restore", *options, str(row_id)])
    assert result.exit_code == EXIT_PROBLEMS
    assert f"row {row_id}: FAILED, cannot read archive" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["compress", "--older-than", "soon"], "'soon' is not a duration"),
        (["compress", "--archive-uri", "ftp://host/x"], "must start with file:// or s3://"),
        (["compress", "--batch", "0"], "0 is not in the range 1<=x"),
        (["restore"], "give history row ids or --object MACHINE:ID"),
        (["restore", "--object", "document"], "--object takes MACHINE:ID"),
    ],
)
def test_usage_errors_are_explained(arguments: list[str], message: str) -> None:
    result = CliRunner().invoke(main, arguments)
    assert result.exit_code == EXIT_USAGE, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_unwritable_storage_is_reported_without_a_traceback(engine: Engine, tmp_path: Path) -> None:
    add_history(engine, 1)
    (tmp_path / "file").write_text("not a folder")
    result = CliRunner().invoke(
        main,
        [
            "compress",
            *archive_args(engine, f"file://{tmp_path / 'file'}/archives"),
        ],
    )
    assert result.exit_code == EXIT_UNAVAILABLE
    assert "statewright compress: cannot write archive" in result.output
    assert "Traceback" not in result.output


def test_a_database_without_the_tables_gets_a_hint(tmp_path: Path) -> None:
    (tmp_path / "empty.db").touch()  # an empty SQLite database
    result = CliRunner().invoke(main, ["compress", "--database-url", f"sqlite:///{tmp_path / 'empty.db'}"])
    assert result.exit_code == EXIT_UNAVAILABLE
    assert "create the tables with `statewright db upgrade" in result.output


@pytest.mark.parametrize(
    ("uri", "message", "secrets"),
    [
        ("s3://AKIAXXXX:secretkey123@bucket/p", "holds credentials", ("AKIAXXXX", "secretkey123")),
        ("s3://", "names no bucket", ()),
        ("file://user:pw@host/x", "names a host", ("user:pw",)),
        ("file://host/x", "names a host", ()),
    ],
)
def test_archive_uris_with_credentials_a_host_or_no_bucket_are_usage_errors(
    engine: Engine, tmp_path: Path, uri: str, message: str, secrets: tuple[str, ...]
) -> None:
    url = engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(main, ["compress", "--database-url", url, "--archive-uri", uri], catch_exceptions=False)
    assert result.exit_code == EXIT_USAGE, result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert message in result.output
    assert not any(secret in result.output for secret in secrets), result.output
    assert "Traceback" not in result.output
