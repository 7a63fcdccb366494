"""Every ``STATEWRIGHT_*`` environment variable, read in one place: ``Settings.from_env()``.

``Statewright(...)`` and every ``statewright`` command take their defaults from one ``Settings``; an argument
or option given explicitly wins over the environment, and the environment over the defaults here. A value
that cannot be used is a ``ConfigurationError`` naming its variable (the command line: one line, exit 2).

``VARIABLES`` lists each variable with its command-line option, default and meaning; the README's
"Configuration" table is checked against it. This module imports nothing heavy: ``statewright lint`` loads it.

>>> Settings.from_env({"STATEWRIGHT_RESEND_AFTER": "30m", "STATEWRIGHT_LOG_LEVEL": "info"}).resend_after
datetime.timedelta(seconds=1800)
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import timedelta
from typing import Any

from engine.errors import ConfigurationError
from engine.spec.durations import DurationOutOfRange, parse_duration

#: Where state is kept when no database URL is given: a SQLite file in the working directory.
DEFAULT_DATABASE_URL = "sqlite:///statewright.db"
#: The broker used when none is given: Dramatiq's in-process stub broker.
DEFAULT_BROKER_URL = "memory://"
#: The machine file or folder the commands load.
DEFAULT_MACHINES = "machines"
#: How long after its message was sent work may wait, its object still in the ``when`` state, before the
#: sweeper sends it again (see ``engine.work.resends``).
DEFAULT_RESEND_AFTER = timedelta(minutes=10)
#: How long a claim's lease lasts without renewal (see ``engine.work.leases``).
DEFAULT_LEASE = timedelta(seconds=30)
#: Bytes of a request or response body the history keeps.
DEFAULT_MAX_STORED_BODY = 65_536
#: Bytes of a response body read from the network before the call fails.
DEFAULT_MAX_RESPONSE_BODY = 10 * 1024 * 1024
#: How long connecting to a database server may take (see ``engine.connections``).
DEFAULT_CONNECT_TIMEOUT = timedelta(seconds=10)
#: How long a worker's statement may wait for a row lock.
DEFAULT_LOCK_TIMEOUT = timedelta(seconds=10)
#: How long a worker's statement may run.
DEFAULT_STATEMENT_TIMEOUT = timedelta(minutes=5)
#: The longest timeout PostgreSQL takes (milliseconds in a 32-bit integer: about 24.8 days).
MAX_TIMEOUT = timedelta(milliseconds=2_147_483_647)
#: Where archives go unless configured: a folder beside the working directory.
DEFAULT_ARCHIVE_URI = "file://./statewright-archives"
#: Log levels ``--log-level`` and ``STATEWRIGHT_LOG_LEVEL`` take (any case).
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
#: The level long-running commands log at unless told otherwise.
DEFAULT_LOG_LEVEL = "WARNING"
#: Values that turn a timeout off, and the words a yes/no variable takes.
NO_LIMIT = ("0", "off", "none")
TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")


@dataclass(frozen=True)
class Settings:
    """Statewright's configuration; ``Settings.from_env()`` reads it from ``STATEWRIGHT_*`` variables.

    Each field is described in ``VARIABLES`` (and the README's "Configuration" table). Timeouts of ``None``
    mean no limit. ``repr`` masks the admin token and URL passwords.
    """

    database_url: str = DEFAULT_DATABASE_URL
    broker_url: str = DEFAULT_BROKER_URL
    machines: str = DEFAULT_MACHINES
    http_base_url: str | None = None
    resend_after: timedelta = DEFAULT_RESEND_AFTER
    lease: timedelta = DEFAULT_LEASE
    max_stored_body: int = DEFAULT_MAX_STORED_BODY
    max_response_body: int = DEFAULT_MAX_RESPONSE_BODY
    db_connect_timeout: timedelta | None = DEFAULT_CONNECT_TIMEOUT
    db_lock_timeout: timedelta | None = DEFAULT_LOCK_TIMEOUT
    db_statement_timeout: timedelta | None = DEFAULT_STATEMENT_TIMEOUT
    archive_uri: str = DEFAULT_ARCHIVE_URI
    archive_temp: str | None = None
    s3_endpoint_url: str | None = None
    s3_path_style: bool = False
    admin_token: str | None = field(default=None, repr=False)
    traceback: bool = False
    log_level: str = DEFAULT_LOG_LEVEL

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from the environment (``os.environ`` unless given); unset or empty variables keep defaults.

        Raises:
            ConfigurationError: A variable's value cannot be used; the message names every such variable.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        problems: list[str] = []
        for variable in VARIABLES:
            text = env.get(variable.name, "").strip()
            if not text:
                continue
            try:
                values[variable.field] = variable.parse(variable.name, text)
            except ConfigurationError as problem:
                problems.append(str(problem))
        if problems:
            raise ConfigurationError(" ".join(problems))
        return cls(**values)

    def given(self, **explicit: Any) -> Settings:
        """These settings with the arguments that were given (not ``None``) taking their place."""
        return replace(self, **{name: value for name, value in explicit.items() if value is not None})

    @property
    def log_level_number(self) -> int:
        """``log_level`` as a ``logging`` level number."""
        return int(getattr(logging, self.log_level))

    def __repr__(self) -> str:
        from engine.redaction import hide_password

        shown = [f"{f.name}={hide_password(repr(getattr(self, f.name)))}" for f in fields(self) if f.repr]
        token = "None" if self.admin_token is None else "'***'"
        return f"Settings({', '.join(shown)}, admin_token={token})"


def read(name: str, environ: Mapping[str, str] | None = None) -> Any:
    """One setting from the environment, by field name, parsed as ``Settings.from_env`` parses it.

    Raises:
        ConfigurationError: Its variable's value cannot be used.
    """
    variable = VARIABLE_BY_FIELD[name]
    text = (os.environ if environ is None else environ).get(variable.name, "").strip()
    return getattr(Settings(), name) if not text else variable.parse(variable.name, text)


def read_named(name: str, environ: Mapping[str, str] | None = None) -> str:
    """The value of a variable a machine file names (a callback's ``secret_env``), ``""`` when unset.

    Not a ``STATEWRIGHT_*`` setting: the file chooses the name, so it is read as it is, never parsed.
    """
    return (os.environ if environ is None else environ).get(name, "")


def default_named(name: str, value: str) -> str:
    """Set the variable ``name`` for this process unless it is set (``statewright demo`` invents its secret).

    Returns:
        The variable's value now.
    """
    return os.environ.setdefault(name, value)


def _text(name: str, text: str) -> str:
    return text


def _duration(name: str, text: str) -> timedelta:
    try:
        return parse_duration(text)
    except ValueError:
        raise ConfigurationError(f"${name}={text!r} is not a duration; write e.g. 30m, 2h or 1h30m.") from None


def _lease(name: str, text: str) -> timedelta:
    try:
        lease = parse_duration(text)
    except ValueError:
        lease = timedelta(0)
    if lease < timedelta(seconds=1):
        raise ConfigurationError(f"${name}={text!r} is not a duration of at least 1s; write e.g. 30s or 2m.")
    return lease


def _timeout(name: str, text: str) -> timedelta | None:
    if text.lower() in NO_LIMIT:
        return None
    try:
        duration = parse_duration(text)
    except DurationOutOfRange:
        duration = MAX_TIMEOUT + timedelta(days=1)
    except ValueError:
        raise ConfigurationError(
            f"${name}={text!r} is not a duration; write e.g. 10s, 500ms or 5m, or 0 for no limit."
        ) from None
    if duration > MAX_TIMEOUT:
        raise ConfigurationError(
            f"${name}={text!r} is longer than PostgreSQL takes (24d); write at most 24d, or 0 for no limit."
        )
    return duration or None


def _bytes(name: str, text: str) -> int:
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        value = 0
    if value <= 0:
        raise ConfigurationError(f"${name}={text!r} must be a positive number of bytes, e.g. 65536.")
    return value


def _flag(name: str, text: str) -> bool:
    if text.lower() in TRUE_WORDS + FALSE_WORDS:
        return text.lower() in TRUE_WORDS
    raise ConfigurationError(f"${name}={text!r} is neither yes nor no; write 1 or 0 (or true/false, yes/no, on/off).")


def _log_level(name: str, text: str) -> str:
    if text.upper() not in LOG_LEVELS:
        raise ConfigurationError(
            f"${name}={text!r} is not a log level; write one of {', '.join(LOG_LEVELS)} (any case)."
        )
    return text.upper()


@dataclass(frozen=True)
class Variable:
    """One environment variable: the ``Settings`` field it fills, its option, default and meaning."""

    name: str
    field: str
    option: str
    default: str
    meaning: str
    parse: Callable[[str, str], Any] = _text


#: Every variable Statewright reads. The README's "Configuration" table has one row per entry.
VARIABLES: tuple[Variable, ...] = (
    Variable(
        "STATEWRIGHT_DATABASE_URL",
        "database_url",
        "--database-url",
        DEFAULT_DATABASE_URL,
        "SQLAlchemy URL of the database holding statuses, history and the outbox.",
    ),
    Variable(
        "STATEWRIGHT_BROKER_URL",
        "broker_url",
        "--broker-url",
        DEFAULT_BROKER_URL,
        "Where background work goes: memory:// (in-process), redis://… or amqp://….",
    ),
    Variable(
        "STATEWRIGHT_MACHINES",
        "machines",
        "--machines",
        DEFAULT_MACHINES,
        "The machine file or folder the commands load.",
    ),
    Variable(
        "STATEWRIGHT_HTTP_BASE_URL",
        "http_base_url",
        "--http-base-url",
        "(none)",
        "Joined to endpoint URLs that are paths (/documents/{model.id}).",
    ),
    Variable(
        "STATEWRIGHT_RESEND_AFTER",
        "resend_after",
        "--resend-after",
        "10m",
        "How long task and endpoint work may wait, its object still in its `when` state, before the sweep "
        "sends it again.",
        _duration,
    ),
    Variable(
        "STATEWRIGHT_LEASE",
        "lease",
        "",
        "30s",
        "How long a running delivery's claim lasts without renewal (renewed every third of it).",
        _lease,
    ),
    Variable(
        "STATEWRIGHT_MAX_STORED_BODY",
        "max_stored_body",
        "",
        str(DEFAULT_MAX_STORED_BODY),
        "Bytes of an endpoint's request or response body kept in the history; longer bodies are cut.",
        _bytes,
    ),
    Variable(
        "STATEWRIGHT_MAX_RESPONSE_BODY",
        "max_response_body",
        "",
        str(DEFAULT_MAX_RESPONSE_BODY),
        "Bytes of a response read before the call fails with ResponseTooLarge.",
        _bytes,
    ),
    Variable(
        "STATEWRIGHT_DB_CONNECT_TIMEOUT",
        "db_connect_timeout",
        "",
        "10s",
        "How long connecting to a database server may take (0 or off: no limit).",
        _timeout,
    ),
    Variable(
        "STATEWRIGHT_DB_LOCK_TIMEOUT",
        "db_lock_timeout",
        "",
        "10s",
        "Workers only: how long a statement may wait for a row lock (0 or off: no limit).",
        _timeout,
    ),
    Variable(
        "STATEWRIGHT_DB_STATEMENT_TIMEOUT",
        "db_statement_timeout",
        "",
        "5m",
        "Workers only: how long a statement may run (0 or off: no limit).",
        _timeout,
    ),
    Variable(
        "STATEWRIGHT_ARCHIVE_URI",
        "archive_uri",
        "--archive-uri",
        DEFAULT_ARCHIVE_URI,
        "Where payload archives go: file:///folder or s3://bucket/prefix.",
    ),
    Variable(
        "STATEWRIGHT_ARCHIVE_TEMP",
        "archive_temp",
        "--temp-dir",
        "(the system's temporary folder)",
        "Folder an archive is built in before it is copied to the archive URI.",
    ),
    Variable(
        "STATEWRIGHT_S3_ENDPOINT_URL",
        "s3_endpoint_url",
        "--s3-endpoint-url",
        "(AWS)",
        "An S3-compatible server (MinIO, …) for s3:// archives.",
    ),
    Variable(
        "STATEWRIGHT_S3_PATH_STYLE",
        "s3_path_style",
        "--s3-path-style",
        "0",
        "Address S3 buckets as endpoint/bucket (1) rather than bucket.endpoint (0).",
        _flag,
    ),
    Variable(
        "STATEWRIGHT_ADMIN_TOKEN",
        "admin_token",
        "--token",
        "(none)",
        "The admin page's login token (16 characters or more); required unless it binds to loopback.",
    ),
    Variable(
        "STATEWRIGHT_TRACEBACK",
        "traceback",
        "--traceback",
        "0",
        "On a command's failure, also print the traceback (1), for a bug report.",
        _flag,
    ),
    Variable(
        "STATEWRIGHT_LOG_LEVEL",
        "log_level",
        "--log-level",
        DEFAULT_LOG_LEVEL,
        "What long-running commands (worker, admin, sweep, demo) log: DEBUG, INFO, WARNING or ERROR.",
        _log_level,
    ),
)
#: ``VARIABLES`` by ``Settings`` field.
VARIABLE_BY_FIELD = {variable.field: variable for variable in VARIABLES}
