"""Every command ends a user's mistake with one line on standard error and the right exit code."""

from __future__ import annotations

import errno
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
import pytest
import redis
from click.testing import CliRunner
from sqlalchemy import create_engine, insert, inspect
from sqlalchemy.exc import OperationalError

from engine.cli import EXIT_BUG, EXIT_OK, EXIT_UNAVAILABLE, EXIT_USAGE, StatewrightGroup
from engine.cli.failing import describe
from engine.migrations.upgrade import head_revision
from tests.acceptance.lines import assert_one_line, invoke
from tests.conftest import MACHINES, POSTGRES_SERVER, ROOT, free_port

DOCUMENT = str(MACHINES / "document.yaml")

#: Each command that works on an existing database, with the arguments it needs besides --database-url.
DATABASE_COMMANDS = {
    "sweep": ["sweep", "--machines", DOCUMENT],
    "defibrillate": ["defibrillate", "document", "--machines", DOCUMENT],
    "admin": ["admin", "--machines", DOCUMENT],
    "worker": [
        "worker",
        "--machines",
        DOCUMENT,
        "--broker-url",
        "redis://127.0.0.1:1/0",
        "--http-base-url",
        "http://127.0.0.1:1",
    ],
    "failures": ["failures", "--machines", DOCUMENT],
    "compress": ["compress"],
    "restore": ["restore", "1"],
    "purge": ["purge"],
}


@pytest.mark.parametrize("command", [["db", "upgrade"], *DATABASE_COMMANDS.values()], ids=lambda c: c[0])
@pytest.mark.parametrize(
    ("url", "exit_code", "fragment"),
    [
        ("notaurl", EXIT_USAGE, "Cannot use the database URL 'notaurl'"),
        ("nosuchdb://host/x", EXIT_USAGE, "SQLAlchemy knows no database 'nosuchdb'"),
        ("mysql://app@127.0.0.1/app", EXIT_UNAVAILABLE, "needs the Python module 'MySQLdb', which is not installed"),
        ("sqlite:////nonexistent/dir/x.db", EXIT_UNAVAILABLE, "the folder /nonexistent/dir does not exist"),
    ],
    ids=["not-a-url", "unknown-database", "missing-driver", "missing-folder"],
)
def test_a_bad_database_url_is_one_line_in_every_command(
    command: list[str], url: str, exit_code: int, fragment: str
) -> None:
    result = invoke(*command, "--database-url", url)
    assert_one_line(
        result, exit_code, f"statewright {' '.join(command[:2] if command[0] == 'db' else command[:1])}:", fragment
    )


@pytest.mark.parametrize("command", [["db", "upgrade"], *DATABASE_COMMANDS.values()], ids=lambda c: c[0])
def test_a_postgresql_that_refuses_the_connection_is_unavailable_and_the_password_is_hidden(command: list[str]) -> None:
    url = f"postgresql+psycopg://app:s3cret@127.0.0.1:{free_port()}/app"
    result = invoke(*command, "--database-url", url)
    assert_one_line(
        result,
        EXIT_UNAVAILABLE,
        "Cannot connect to the database postgresql+psycopg://app:***@127.0.0.1:",
        "Connection refused",
        "check the URL",
    )
    assert "s3cret" not in result.output


@pytest.mark.parametrize("command", DATABASE_COMMANDS.values(), ids=lambda c: c[0])
def test_commands_on_an_existing_database_never_create_an_empty_sqlite_file(command: list[str], tmp_path: Path) -> None:
    database = tmp_path / "app.db"
    result = invoke(*command, "--database-url", f"sqlite:///{database}")
    assert_one_line(
        result,
        EXIT_UNAVAILABLE,
        f"The SQLite database {database} does not exist",
        f"`statewright db upgrade --database-url sqlite:///{database}`",
    )
    assert not database.exists()


def test_db_upgrade_creates_the_sqlite_file(tmp_path: Path) -> None:
    database = tmp_path / "app.db"
    result = invoke("db", "upgrade", "--database-url", f"sqlite:///{database}")
    assert result.exit_code == EXIT_OK, result.output
    assert database.exists()


def test_db_downgrade_of_a_database_that_does_not_exist_creates_nothing(tmp_path: Path) -> None:
    database = tmp_path / "app.db"
    result = invoke("db", "downgrade", "--database-url", f"sqlite:///{database}", "base")
    assert_one_line(result, EXIT_UNAVAILABLE, "does not exist")
    assert not database.exists()


def test_an_unknown_revision_is_a_usage_error(tmp_path: Path) -> None:
    result = invoke("db", "upgrade", "--database-url", f"sqlite:///{tmp_path / 'app.db'}", "0999")
    assert_one_line(result, EXIT_USAGE, "Cannot migrate to revision '0999'", "0001, 0002, ")


@pytest.mark.parametrize("command", DATABASE_COMMANDS.values(), ids=lambda c: c[0])
def test_a_database_without_statewright_tables_says_to_run_db_upgrade(command: list[str], tmp_path: Path) -> None:
    database = tmp_path / "app.db"
    create_engine(f"sqlite:///{database}").connect().close()  # an empty database file
    result = invoke(*command, "--database-url", f"sqlite:///{database}")
    assert_one_line(
        result,
        EXIT_UNAVAILABLE,
        "lacks Statewright tables",
        f"create the tables with `statewright db upgrade --database-url sqlite:///{database}`",
    )


@pytest.mark.parametrize("command", DATABASE_COMMANDS.values(), ids=lambda c: c[0])
def test_statewright_tables_at_an_old_revision_say_to_upgrade(command: list[str], tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    assert invoke("db", "upgrade", "--database-url", url, "0001").exit_code == EXIT_OK
    result = invoke(*command, "--database-url", url)
    assert_one_line(
        result,
        EXIT_UNAVAILABLE,
        f"are at revision 0001; this version needs {head_revision()}",
        f"`statewright db upgrade --database-url {url}`",
    )


@pytest.mark.parametrize(
    "command", [c for name, c in DATABASE_COMMANDS.items() if "--machines" in c], ids=lambda c: c[0]
)
def test_a_missing_model_table_says_to_create_it(command: list[str], tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    assert invoke("db", "upgrade", "--database-url", url).exit_code == EXIT_OK
    result = invoke(*command, "--database-url", url)
    assert_one_line(
        result,
        EXIT_UNAVAILABLE,
        "The table 'documents' of Document (machine 'document') does not exist",
        "create your model's table",
    )


def test_a_missing_machine_folder_is_a_usage_error(tmp_path: Path) -> None:
    result = invoke("sweep", "--machines", str(tmp_path / "nowhere"), "--database-url", f"sqlite:///{tmp_path}/x.db")
    assert_one_line(result, EXIT_USAGE, f"no such file or folder: {tmp_path / 'nowhere'}")


def test_an_unknown_broker_scheme_is_a_usage_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    invoke("db", "upgrade", "--database-url", url)
    result = invoke("sweep", "--machines", DOCUMENT, "--database-url", url, "--broker-url", "kafka://host")
    assert_one_line(result, EXIT_USAGE, "Unsupported broker URL 'kafka://host'")


@pytest.mark.parametrize(
    "args",
    [
        ["restore", "99999999999999999999"],
        ["compress", "--batch", "99999999999999999999"],
        [
            "failures",
            "--machines",
            DOCUMENT,
            "--broker-url",
            "redis://127.0.0.1:1/0",
            "--retry",
            "99999999999999999999",
        ],
    ],
    ids=["row-id", "batch", "failure-id"],
)
def test_numbers_beyond_a_64_bit_column_are_usage_errors(ready_database: str, args: list[str]) -> None:
    result = invoke(*args, "--database-url", ready_database)
    assert result.exit_code == EXIT_USAGE, result.output
    assert "is not in the range 1<=x<=9223372036854775807" in result.stderr
    assert "Traceback" not in result.output


def test_demo_into_a_folder_that_cannot_be_made_is_one_line() -> None:
    result = invoke("demo", "--out", "/proc/nope")
    assert_one_line(result, EXIT_USAGE, "statewright demo: cannot use /proc/nope: No such file or directory")


def test_traceback_option_adds_the_traceback_and_keeps_the_exit_code() -> None:
    result = invoke("--traceback", "db", "upgrade", "--database-url", "notaurl")
    assert result.exit_code == EXIT_USAGE
    assert "Traceback (most recent call last)" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("statewright db upgrade: Cannot use the database URL")


def test_an_unexpected_exception_is_reported_as_a_bug_with_its_traceback() -> None:
    @click.group(cls=StatewrightGroup)
    def tool() -> None:
        """A group like statewright's."""

    @tool.command()
    def broken() -> None:
        raise ZeroDivisionError("division by zero")

    result = CliRunner().invoke(tool, ["broken"], prog_name="tool")
    assert result.exit_code == EXIT_BUG
    assert "Traceback (most recent call last)" in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "tool broken: unexpected ZeroDivisionError. This is a bug in Statewright: please report it with the "
        "traceback above."
    )


# Real processes: optional packages made unimportable, as on a machine without the extra.


def run_without(modules: list[str], *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """Run the command in a new interpreter in which ``modules`` cannot be imported."""
    code = (
        "import sys\n"
        f"for name in {modules!r}: sys.modules[name] = None\n"
        "from engine.cli import main\n"
        "main(sys.argv[1:], prog_name='statewright')\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code, *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=120
    )


def assert_one_process_line(done: subprocess.CompletedProcess[str], exit_code: int, *fragments: str) -> None:
    assert done.returncode == exit_code, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_postgresql_without_its_driver_says_which_extra_to_install() -> None:
    done = run_without(["psycopg"], "db", "upgrade", "--database-url", "postgresql://app@127.0.0.1/app")
    assert_one_process_line(
        done, EXIT_UNAVAILABLE, "needs the Python module 'psycopg'", "`pip install 'statewright[postgres]'`"
    )


def test_admin_without_its_extra_says_which_extra_to_install(ready_database: str) -> None:
    done = run_without(["jinja2"], "admin", "--machines", DOCUMENT, "--database-url", ready_database)
    assert_one_process_line(
        done,
        EXIT_UNAVAILABLE,
        "statewright admin: The admin page needs the Python module 'jinja2'",
        "`pip install 'statewright[admin]'`",
    )


@pytest.mark.parametrize(
    ("module", "url", "extra"),
    [("redis", "redis://127.0.0.1:1/0", "redis"), ("pika", "amqp://127.0.0.1:1/", "rabbitmq")],
)
def test_a_broker_without_its_client_says_which_extra_to_install(
    ready_database: str, module: str, url: str, extra: str
) -> None:
    done = run_without([module], "sweep", "--machines", DOCUMENT, "--database-url", ready_database, "--broker-url", url)
    assert_one_process_line(
        done, EXIT_UNAVAILABLE, f"needs the Python module '{module}'", f"`pip install 'statewright[{extra}]'`"
    )


def test_s3_archives_without_boto3_say_which_extra_to_install(ready_database: str) -> None:
    from engine.orm.tables import statuses

    engine = create_engine(ready_database)
    with engine.begin() as connection:
        connection.execute(
            insert(statuses),
            [
                {
                    "machine": "document",
                    "model_type": "tests:Doc",
                    "model_id": "1",
                    "from_state": "a",
                    "to_state": "b",
                    "transition": "go",
                    "payload": {"big": "x" * 100},
                    "created_at": datetime.now(UTC) - timedelta(days=9),
                }
            ],
        )
    engine.dispose()
    done = run_without(["boto3"], "compress", "--database-url", ready_database, "--archive-uri", "s3://bucket/x")
    assert_one_process_line(done, EXIT_UNAVAILABLE, "statewright[s3]")


@pytest.mark.parametrize(
    ("args", "exit_code"),
    [
        (["db", "upgrade", "--database-url", "notaurl"], EXIT_USAGE),
        (["lint", "/nonexistent.yaml"], EXIT_USAGE),
        (["diagram", "machines/nonexistent.yaml"], EXIT_USAGE),
        (["sweep", "--machines", "machines/", "--database-url", "sqlite:////nonexistent/dir/x.db"], EXIT_UNAVAILABLE),
    ],
)
def test_the_installed_command_prints_no_traceback(args: list[str], exit_code: int) -> None:
    script = shutil.which("statewright", path=str(Path(sys.executable).parent))
    assert script is not None
    done = subprocess.run([script, *args], cwd=ROOT, capture_output=True, text=True, check=False, timeout=120)
    assert_one_process_line(done, exit_code)


@pytest.fixture
def empty_postgres_database() -> Iterator[str]:
    """A PostgreSQL database of its own with no tables at all, dropped afterwards."""
    from sqlalchemy import text

    name = f"statewright_cli_{uuid.uuid4().hex[:10]}"
    admin = create_engine(f"{POSTGRES_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield f"{POSTGRES_SERVER}/{name}"
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_on_postgresql_missing_tables_are_named_with_their_fix(empty_postgres_database: str) -> None:
    url = empty_postgres_database
    assert_one_line(
        invoke("sweep", "--machines", DOCUMENT, "--database-url", url),
        EXIT_UNAVAILABLE,
        "lacks Statewright tables",
        f"`statewright db upgrade --database-url {url}`",
    )
    assert_one_line(invoke("purge", "--database-url", url), EXIT_UNAVAILABLE, "lacks Statewright tables")
    assert invoke("db", "upgrade", "--database-url", url).exit_code == EXIT_OK
    assert_one_line(
        invoke("defibrillate", "document", "--machines", DOCUMENT, "--database-url", url),
        EXIT_UNAVAILABLE,
        "The table 'documents' of Document",
        "create your model's table",
    )


@pytest.mark.parametrize(
    ("error", "exit_code", "fragment"),
    [
        (
            OSError(errno.ENOSPC, "No space left on device", "/var/x.zip"),
            EXIT_UNAVAILABLE,
            "cannot use /var/x.zip: No space left on device",
        ),
        (
            PermissionError(errno.EACCES, "Permission denied", "/etc/x"),
            EXIT_USAGE,
            "cannot use /etc/x: Permission denied",
        ),
        (
            redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:1"),
            EXIT_UNAVAILABLE,
            "cannot reach the broker: Error 111",
        ),
        (
            OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly")),
            EXIT_UNAVAILABLE,
            "the database failed: server closed the connection unexpectedly",
        ),
        (
            OperationalError("SELECT 1", {}, Exception("no such table: documents")),
            EXIT_UNAVAILABLE,
            "create your model's table",
        ),
        (
            ImportError("S3 archives need boto3. Install with `pip install statewright[s3]`."),
            EXIT_UNAVAILABLE,
            "pip install statewright[s3]",
        ),
    ],
    ids=["disk-full", "permission", "broker-down", "database-down", "table-dropped", "wrapped-import"],
)
def test_failures_in_the_middle_of_a_command_map_to_a_line_and_a_code(
    error: Exception, exit_code: int, fragment: str
) -> None:
    """What a database, a broker or the disk raises after the start checks passed."""
    failure = describe(error)
    assert failure is not None
    assert failure.exit_code == exit_code
    assert fragment in failure.message


def test_an_error_nobody_expected_is_not_described() -> None:
    assert describe(KeyError("x")) is None


def test_a_malformed_broker_url_is_reported_before_a_missing_database(tmp_path: Path) -> None:
    result = invoke(
        "sweep",
        "--machines",
        DOCUMENT,
        "--database-url",
        f"sqlite:///{tmp_path / 'none.db'}",
        "--broker-url",
        "kafka://host",
    )
    assert_one_line(result, EXIT_USAGE, "Unsupported broker URL 'kafka://host'")


@pytest.mark.parametrize("url", ["redis://", "redis://:99999", "amqp://host:port/"])
def test_a_broker_url_its_client_refuses_is_a_usage_error(ready_database: str, url: str) -> None:
    result = invoke("sweep", "--machines", DOCUMENT, "--database-url", ready_database, "--broker-url", url)
    assert_one_line(result, EXIT_USAGE, f"Cannot use the broker URL '{url}'")


@pytest.mark.parametrize(("option", "value"), [("--processes", "0"), ("--threads", "0"), ("--sweep-every", "-1")])
def test_a_worker_that_could_do_no_work_is_a_usage_error(option: str, value: str, tmp_path: Path) -> None:
    """``--processes 0`` used to exit 0 having done nothing; ``--threads 0`` would consume nothing at all."""
    url = f"sqlite:///{tmp_path / 'app.db'}"
    result = invoke(
        "worker",
        "--machines",
        DOCUMENT,
        "--database-url",
        url,
        "--broker-url",
        "redis://127.0.0.1:1/0",
        "--http-base-url",
        "http://127.0.0.1:1",
        option,
        value,
    )
    assert result.exit_code == EXIT_USAGE, result.output
    assert f"Invalid value for '{option}'" in result.output


def test_db_downgrade_asks_for_yes_and_changes_nothing_without_it(tmp_path: Path) -> None:
    """A downgrade drops tables with their history: without ``--yes`` it is refused and nothing is dropped."""
    url = f"sqlite:///{tmp_path / 'app.db'}"
    assert invoke("db", "upgrade", "--database-url", url).exit_code == EXIT_OK
    refused = invoke("db", "downgrade", "--database-url", url, "base")
    assert_one_line(refused, EXIT_USAGE, "pass --yes to confirm")
    engine = create_engine(url)
    try:
        assert "statuses" in inspect(engine).get_table_names()
        assert invoke("db", "downgrade", "--database-url", url, "--yes", "base").exit_code == EXIT_OK
        engine.dispose()
        assert "statuses" not in inspect(engine).get_table_names()
    finally:
        engine.dispose()


@pytest.mark.parametrize("command", [["db", "upgrade"], *DATABASE_COMMANDS.values()], ids=lambda c: c[0])
def test_secrets_in_a_database_urls_query_string_never_reach_the_failure_line(command: list[str]) -> None:
    url = f"postgresql+psycopg://127.0.0.1:{free_port()}/x?password=QLEAK2&sslpassword=SSLEAK3"
    result = invoke(*command, "--database-url", url)
    assert_one_line(result, EXIT_UNAVAILABLE, "Cannot connect to the database", "password=***", "sslpassword=***")
    assert "QLEAK2" not in result.output
    assert "SSLEAK3" not in result.output


@pytest.mark.parametrize("command", [["db", "upgrade"], *DATABASE_COMMANDS.values()], ids=lambda c: c[0])
def test_a_password_holding_at_signs_is_hidden_whole_and_must_be_escaped(command: list[str]) -> None:
    result = invoke(*command, "--database-url", f"postgresql+psycopg://u:P@ss@W22@127.0.0.1:{free_port()}/db")
    assert_one_line(result, EXIT_USAGE, "postgresql+psycopg://u:***@127.0.0.1:", "as %40")
    assert "ss@W22" not in result.output
    assert "W22" not in result.output


def test_every_described_failure_goes_through_the_default_redactor() -> None:
    failure = describe(OSError(errno.EIO, "I/O error at https://h/?token=TOK9&api_key=K9", "/x?password=PW9"))
    assert failure is not None
    assert not any(secret in failure.message for secret in ("TOK9", "K9", "PW9")), failure.message
