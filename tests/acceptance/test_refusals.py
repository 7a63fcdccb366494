"""Commands refuse what cannot work (a broker that vanishes, a broken URL, an odd path) with one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from engine import ConfigurationError, Statewright
from engine.cli import EXIT_BROKEN_PIPE, EXIT_OK, EXIT_USAGE
from engine.orm.tables import outbox
from tests.acceptance.lines import assert_one_line, invoke
from tests.conftest import CASES, MACHINES, ROOT

DOCUMENT = str(MACHINES / "document.yaml")


def _sent_rows(url: str) -> int:
    engine = create_engine(url)
    with engine.connect() as connection:
        sent = connection.execute(select(func.count()).where(outbox.c.sent_at.is_not(None))).scalar_one()
    engine.dispose()
    return int(sent)


@pytest.mark.parametrize("args", [["sweep"], ["sweep", "--no-timeouts"], ["defibrillate", "document"]], ids=" ".join)
def test_commands_that_send_work_refuse_the_in_process_broker(ready_database: str, args: list[str]) -> None:
    """``sweep`` used to say ``outbox: 2 rows sent`` into a broker gone when it exited."""
    result = invoke(*args, "--machines", DOCUMENT, "--database-url", ready_database, "--broker-url", "memory://")
    assert_one_line(result, EXIT_USAGE, "memory:// lives inside one process", "--broker-url redis://")
    assert _sent_rows(ready_database) == 0


def test_the_default_broker_is_the_in_process_one_and_is_refused_too(ready_database: str) -> None:
    result = invoke("sweep", "--machines", DOCUMENT, "--database-url", ready_database)
    assert_one_line(result, EXIT_USAGE, "memory:// lives inside one process", "--no-outbox")


@pytest.mark.parametrize("args", [["sweep", "--no-outbox"], ["defibrillate", "document", "--dry-run"]], ids=" ".join)
def test_what_sends_nothing_runs_without_a_broker(ready_database: str, args: list[str]) -> None:
    result = invoke(*args, "--machines", DOCUMENT, "--database-url", ready_database)
    assert result.exit_code == EXIT_OK, result.output


BAD_BASE_URLS = ["ftp://x", "not a url", "http://", "javascript:alert(1)", "http://127.0.0.1:99999", "http://h:0", ""]


@pytest.mark.parametrize("base_url", BAD_BASE_URLS)
def test_the_worker_refuses_an_http_base_url_that_is_not_one(ready_database: str, base_url: str) -> None:
    result = invoke(
        "worker",
        "--machines",
        DOCUMENT,
        "--database-url",
        ready_database,
        "--broker-url",
        "redis://127.0.0.1:1/0",
        "--http-base-url",
        base_url,
    )
    assert_one_line(result, EXIT_USAGE, "HTTP base URL", "https://host")


@pytest.mark.parametrize("base_url", BAD_BASE_URLS)
def test_the_app_refuses_an_http_base_url_that_is_not_one(tmp_path: Path, base_url: str) -> None:
    with pytest.raises(ConfigurationError, match="HTTP base URL"):
        Statewright.from_path(DOCUMENT, database_url=f"sqlite:///{tmp_path / 'app.db'}", http_base_url=base_url)


def test_an_http_base_url_with_a_host_and_port_is_accepted(tmp_path: Path) -> None:
    app = Statewright.from_path(
        DOCUMENT, database_url=f"sqlite:///{tmp_path / 'app.db'}", http_base_url="https://api.example.com:8443/v1"
    )
    app.close()


@pytest.mark.parametrize(
    "args",
    [["rules"], ["show", DOCUMENT], ["lint", str(CASES / "invalid")], ["diagram", DOCUMENT, "-f", "dot"]],
    ids=lambda args: args[0],
)
def test_a_reader_that_stopped_reading_ends_the_command_quietly(args: list[str]) -> None:
    """``statewright rules | head -1`` used to print "cannot use: Broken pipe." and exit 3."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first write: every write fails, deterministically
    try:
        result = subprocess.run(
            [str(Path(sys.executable).parent / "statewright"), *args],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            timeout=60,
        )
    finally:
        os.close(write_end)
    assert result.returncode == EXIT_BROKEN_PIPE
    assert result.stderr == ""


def test_diagram_refuses_to_write_into_a_fifo(tmp_path: Path) -> None:
    """Writing a diagram into a FIFO nobody reads used to hang for good."""
    fifo = tmp_path / "f"
    os.mkfifo(fifo)
    result = invoke("diagram", DOCUMENT, "-f", "dot", "-o", str(fifo))
    assert_one_line(result, EXIT_USAGE, f"-o {fifo} exists and is not a regular file")


def test_diagram_overwrites_a_regular_file(tmp_path: Path) -> None:
    output = tmp_path / "old.dot"
    output.write_text("old")
    assert invoke("diagram", DOCUMENT, "-o", str(output)).exit_code == EXIT_OK
    assert output.read_text().startswith("digraph")


@pytest.mark.parametrize(
    "args",
    [
        ["lint", ""],
        ["show", ""],
        ["diagram", "", "-f", "dot"],
        ["diagram", DOCUMENT, "-o", ""],
        ["sweep", "--no-outbox", "--machines", ""],
    ],
    ids=" ".join,
)
def test_an_empty_path_is_refused_rather_than_read_as_the_current_folder(args: list[str]) -> None:
    result = invoke(*args)
    assert_one_line(result, EXIT_USAGE, "empty path")


def test_the_app_refuses_an_empty_path_and_a_missing_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="empty path"):
        Statewright.from_path("")
    with pytest.raises(ConfigurationError, match="No such machine file or folder: 'nowhere/'"):
        Statewright.from_path("nowhere/")


def test_a_missing_machines_folder_keeps_the_commands_line(tmp_path: Path) -> None:
    result = invoke("sweep", "--no-outbox", "--machines", str(tmp_path / "nowhere"))
    assert_one_line(result, EXIT_USAGE, f"no such file or folder: {tmp_path / 'nowhere'}")


@pytest.fixture
def one_document(ready_database: str) -> str:
    """The ready database with one document (id 1) and its history."""
    from examples.documents.models import Document

    app = Statewright.from_path(DOCUMENT, database_url=ready_database)
    try:
        with app.sessionmaker() as session:
            session.add(Document(title="a"))
            session.commit()
    finally:
        app.close()
    return ready_database


@pytest.mark.parametrize(
    ("subject", "fragment"),
    [
        ("nomachine:1", "no history of a machine 'nomachine'; machines with history: document"),
        ("document:abc", "no document with id 'abc' has any history"),
        (":", "--object takes MACHINE:ID"),
        ("document:", "--object takes MACHINE:ID"),
        (":1", "--object takes MACHINE:ID"),
    ],
)
def test_restore_refuses_an_object_the_history_has_never_seen(
    one_document: str, tmp_path: Path, subject: str, fragment: str
) -> None:
    """These used to print "restored 0 rows … failed 0" and exit 0."""
    result = invoke(
        "restore",
        "--object",
        subject,
        "--database-url",
        one_document,
        "--archive-uri",
        (tmp_path / "archives").as_uri(),
    )
    assert_one_line(result, EXIT_USAGE, fragment)


def test_restore_of_a_known_object_without_archives_restores_nothing(one_document: str, tmp_path: Path) -> None:
    result = invoke(
        "restore",
        "--object",
        "document:1",
        "--database-url",
        one_document,
        "--archive-uri",
        (tmp_path / "archives").as_uri(),
    )
    assert result.exit_code == EXIT_OK, result.output
    assert "restored 0 rows" in result.output


@pytest.mark.parametrize("kind", ["fifo", "device", "file", "empty"])
def test_compress_refuses_a_temp_dir_that_is_not_a_folder(ready_database: str, tmp_path: Path, kind: str) -> None:
    """A FIFO or /dev/zero used to read "File exists. Free space there…" and exit 3."""
    temp = {"fifo": str(tmp_path / "f"), "device": "/dev/zero", "file": str(tmp_path / "plain"), "empty": ""}[kind]
    if kind == "fifo":
        os.mkfifo(temp)
    if kind == "file":
        Path(temp).write_text("x")
    result = invoke(
        "compress", "--database-url", ready_database, "--archive-uri", (tmp_path / "a").as_uri(), "--temp-dir", temp
    )
    if kind == "file":  # click's own check of a regular file, with its own words
        assert result.exit_code == EXIT_USAGE
        return
    assert_one_line(result, EXIT_USAGE, "--temp-dir", "name a folder (it is created if missing)")


def test_compress_help_says_a_missing_temp_dir_is_created() -> None:
    assert "created if missing" in " ".join(invoke("compress", "--help").output.split())
