"""One ``Settings.from_env()`` for every ``STATEWRIGHT_*`` variable: given beats environment beats default."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine import ConfigurationError, Settings, Statewright
from engine.cli import EXIT_OK, EXIT_USAGE, main
from engine.settings import VARIABLES, read
from tests.acceptance.lines import assert_one_line, invoke
from tests.conftest import MACHINES, ROOT

README = (ROOT / "README.md").read_text()


def _variables_in_code() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "engine").rglob("*"):
        if path.suffix in (".py", ".html"):
            # A name ending in "_" or followed by "…" stands for several (``STATEWRIGHT_DB_…``): not a variable.
            names |= {
                match[0]
                for match in re.finditer(r"STATEWRIGHT_[A-Z0-9_]+(…|\*)?", path.read_text())
                if not match[0].endswith(("_", "…", "*"))
            }
    return names


def test_every_variable_the_code_names_is_a_setting() -> None:
    """A variable read anywhere but through ``Settings`` would escape the table (and the one error)."""
    assert _variables_in_code() == {variable.name for variable in VARIABLES}


def test_only_the_settings_module_reads_the_environment() -> None:
    """Click's ``envvar=`` included: it parsed values itself and reported them as usage errors."""
    readers = re.compile(r"os\.environ|getenv|envvar=")
    found = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "engine").rglob("*.py")
        if readers.search(path.read_text()) and path.name != "settings.py"
    ]
    assert found == []


def test_the_readme_configuration_table_lists_every_setting() -> None:
    table = README.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| `STATEWRIGHT_")]
    expected = []
    for variable in VARIABLES:
        option = f"`{variable.option}`" if variable.option else "—"
        default = variable.default if variable.default.startswith("(") else f"`{variable.default}`"
        expected.append(f"| `{variable.name}` | {option} | {default} | {variable.meaning} |")
    assert rows == expected


def test_every_field_has_one_variable() -> None:
    assert sorted(v.field for v in VARIABLES) == sorted(Settings.__dataclass_fields__)


def test_unset_and_empty_variables_keep_the_defaults() -> None:
    assert Settings.from_env({}) == Settings()
    assert Settings.from_env({"STATEWRIGHT_LEASE": "  ", "STATEWRIGHT_DATABASE_URL": ""}) == Settings()


def test_each_kind_of_value_is_parsed() -> None:
    settings = Settings.from_env(
        {
            "STATEWRIGHT_DATABASE_URL": "postgresql+psycopg://u:secret@db/app",
            "STATEWRIGHT_LEASE": "45s",
            "STATEWRIGHT_MAX_STORED_BODY": "1_024",
            "STATEWRIGHT_DB_STATEMENT_TIMEOUT": "off",
            "STATEWRIGHT_S3_PATH_STYLE": "Yes",
            "STATEWRIGHT_TRACEBACK": "0",
            "STATEWRIGHT_LOG_LEVEL": "debug",
            "STATEWRIGHT_ADMIN_TOKEN": "a-token-of-twenty-chars",
        }
    )
    assert settings.database_url == "postgresql+psycopg://u:secret@db/app"
    assert (settings.lease, settings.max_stored_body, settings.db_statement_timeout) == (
        timedelta(seconds=45),
        1024,
        None,
    )
    assert (settings.s3_path_style, settings.traceback, settings.log_level) == (True, False, "DEBUG")
    assert "secret" not in repr(settings)
    assert "a-token-of" not in repr(settings)


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("STATEWRIGHT_RESEND_AFTER", "soon", "is not a duration"),
        ("STATEWRIGHT_LEASE", "500ms", "is not a duration of at least 1s"),
        ("STATEWRIGHT_MAX_RESPONSE_BODY", "-1", "must be a positive number of bytes"),
        ("STATEWRIGHT_DB_LOCK_TIMEOUT", "30d", "is longer than PostgreSQL takes"),
        ("STATEWRIGHT_S3_PATH_STYLE", "maybe", "is neither yes nor no"),
        ("STATEWRIGHT_TRACEBACK", "please", "is neither yes nor no"),
        ("STATEWRIGHT_LOG_LEVEL", "verbose", "is not a log level; write one of DEBUG, INFO, WARNING, ERROR"),
    ],
)
def test_a_bad_value_is_one_error_naming_its_variable(variable: str, value: str, says: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        Settings.from_env({variable: value})
    assert str(raised.value).startswith(f"${variable}={value!r} {says}")


def test_every_bad_value_is_named_in_the_one_error() -> None:
    with pytest.raises(ConfigurationError, match=r"\$STATEWRIGHT_LEASE=.*\$STATEWRIGHT_LOG_LEVEL="):
        Settings.from_env({"STATEWRIGHT_LEASE": "x", "STATEWRIGHT_LOG_LEVEL": "y"})


def test_read_parses_one_variable_alone() -> None:
    environ = {"STATEWRIGHT_LEASE": "2m", "STATEWRIGHT_LOG_LEVEL": "bad"}
    assert read("lease", environ) == timedelta(minutes=2)


def test_the_app_takes_the_environment_and_arguments_beat_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STATEWRIGHT_DATABASE_URL", f"sqlite:///{tmp_path / 'from-env.db'}")
    monkeypatch.setenv("STATEWRIGHT_RESEND_AFTER", "20m")
    monkeypatch.setenv("STATEWRIGHT_MAX_STORED_BODY", "2048")
    monkeypatch.setenv("STATEWRIGHT_LEASE", "7s")
    app = Statewright.from_path(MACHINES / "order.yaml", resend_after=timedelta(minutes=3))
    try:
        assert app.engine.url.database == str(tmp_path / "from-env.db")
        assert app.resend_after == timedelta(minutes=3)  # the argument
        assert app.body_limits.max_stored_body == 2048  # the environment
        assert app.work.leases.duration == timedelta(seconds=7)
        assert app.settings.broker_url == "memory://"  # the default
    finally:
        app.close()


def test_settings_given_to_the_app_replace_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STATEWRIGHT_RESEND_AFTER", "not read")
    app = Statewright.from_path(
        MACHINES / "order.yaml", database_url="sqlite://", settings=Settings(resend_after=timedelta(hours=1))
    )
    try:
        assert app.resend_after == timedelta(hours=1)
        assert app.settings.database_url == "sqlite://"
    finally:
        app.close()


def test_the_app_refuses_a_bad_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STATEWRIGHT_MAX_RESPONSE_BODY", "lots")
    with pytest.raises(ConfigurationError, match=r"\$STATEWRIGHT_MAX_RESPONSE_BODY='lots'"):
        Statewright.from_path(MACHINES / "order.yaml", database_url="sqlite://")


def test_a_bad_variable_is_one_line_and_exit_2_for_any_command_that_loads_an_app(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Click's own envvar parsing printed its four-line usage text for it."""
    monkeypatch.setenv("STATEWRIGHT_RESEND_AFTER", "soon")
    for command in (["sweep", "--no-outbox"], ["db", "upgrade"], ["worker"]):
        result = invoke(*command)
        name = " ".join(word for word in command if not word.startswith("-"))
        assert_one_line(result, EXIT_USAGE, f"statewright {name}: $STATEWRIGHT_RESEND_AFTER='soon' is not a duration")
        assert "Usage:" not in result.output


def test_commands_that_open_nothing_ignore_a_bad_variable_they_never_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`lint` in CI refused to run because the deploy environment had a typo in $STATEWRIGHT_LEASE."""
    monkeypatch.setenv("STATEWRIGHT_LEASE", "-5")
    monkeypatch.setenv("STATEWRIGHT_DATABASE_URL", "postgresql://user:hunter2@db/app")
    order = str(MACHINES / "order.yaml")
    for command in (
        ["lint", str(MACHINES)],
        ["show", order],
        ["diagram", order, "-o", str(tmp_path / "order.svg")],
        ["rules"],
        ["--version"],
        ["--help"],
        ["lint", "--help"],
        ["worker", "--help"],
        ["db", "upgrade", "--help"],
    ):
        result = invoke(*command)
        assert result.exit_code == EXIT_OK, (command, result.output)
        assert "STATEWRIGHT_LEASE" not in result.output, command


def test_the_option_beats_the_variable_and_the_variable_beats_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("STATEWRIGHT_DATABASE_URL", "sqlite:///from-env.db")
    assert invoke("db", "upgrade", "--database-url", "sqlite:///from-option.db").exit_code == EXIT_OK
    assert sorted(p.name for p in tmp_path.glob("*.db")) == ["from-option.db"]
    assert invoke("db", "upgrade").exit_code == EXIT_OK
    assert sorted(p.name for p in tmp_path.glob("*.db")) == ["from-env.db", "from-option.db"]
    monkeypatch.delenv("STATEWRIGHT_DATABASE_URL")
    assert invoke("db", "upgrade").exit_code == EXIT_OK
    assert "statewright.db" in [p.name for p in tmp_path.glob("*.db")]


def test_a_bad_log_level_option_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["sweep", "--log-level", "loud"])
    assert result.exit_code == EXIT_USAGE
    assert "'loud' is not one of" in result.stderr


def test_help_shows_each_default_and_its_variable() -> None:
    output = " ".join(CliRunner().invoke(main, ["worker", "--help"]).output.split())
    assert "[default: ($STATEWRIGHT_RESEND_AFTER or 10m)]" in output
    assert "[default: ($STATEWRIGHT_LOG_LEVEL or WARNING)]" in output
    assert "[default: ($STATEWRIGHT_HTTP_BASE_URL or none)]" in output
