"""Build a Dramatiq broker from a URL: ``memory://`` (in-process), ``redis://…`` or ``amqp://…``."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from engine.dependencies import missing_dependency
from engine.errors import ConfigurationError
from engine.redaction import DEFAULT_REDACTOR, hide_password
from engine.settings import DEFAULT_BROKER_URL as DEFAULT_BROKER_URL  # spelled once, in the settings

if TYPE_CHECKING:
    from dramatiq import Broker

#: The broker used when none is given: Dramatiq's in-process stub broker. (Dramatiq loads only when a broker

#: URL schemes and what they build.
SCHEMES = ("memory", "redis", "rediss", "amqp", "amqps")

#: Query parameters of a ``redis://`` URL that configure Dramatiq's RedisBroker rather than the connection.
#: ``heartbeat_timeout`` (ms) is how long a silent worker counts as alive: its unacknowledged messages go
#: back on the queue only after it; ``maintenance_chance`` is how many fetches in a million look for them.
REDIS_BROKER_OPTIONS: dict[str, type] = {
    "heartbeat_timeout": int,
    "maintenance_chance": int,
    "dead_message_ttl": int,
    "namespace": str,
}
#: The smallest and largest value each numeric broker option may take (milliseconds, or chances in a million).
REDIS_OPTION_RANGES: dict[str, tuple[int, int]] = {
    "heartbeat_timeout": (1, 2**31 - 1),
    "maintenance_chance": (0, 1_000_000),
    "dead_message_ttl": (1, 2**31 - 1),
}
#: Connection options a ``redis://`` URL may carry besides redis-py's own query parsers (``rediss://`` also
#: takes any ``ssl_*``). redis-py passes an unknown one to the connection, which fails on every attempt.
REDIS_CONNECTION_OPTIONS = frozenset(
    {"username", "password", "client_name", "encoding", "encoding_errors", "decode_responses"}
)


def split_options(url: str, known: dict[str, type]) -> tuple[str, dict[str, object]]:
    """Take the ``known`` query parameters out of ``url``; returns the rest of the URL and the typed options.

    >>> split_options("redis://h:6379/0?heartbeat_timeout=5000&socket_timeout=3", REDIS_BROKER_OPTIONS)
    ('redis://h:6379/0?socket_timeout=3', {'heartbeat_timeout': 5000})

    Raises:
        ConfigurationError: An option's value does not have its type.
    """
    parts = urlsplit(url)
    rest: list[tuple[str, str]] = []
    options: dict[str, object] = {}
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name not in known:
            rest.append((name, value))
            continue
        try:
            options[name] = known[name](value)
        except ValueError:
            raise ConfigurationError(f"Broker URL option {name}={value!r} must be {known[name].__name__}.") from None
    return urlunsplit(parts._replace(query=urlencode(rest))), options


def _check_redis_options(url: str, options: dict[str, object], connection_url: str) -> None:
    """Refuse a broker option out of its range and a query parameter no Redis connection takes.

    Raises:
        ConfigurationError: Naming the option and what it may be.
    """
    for name, (low, high) in REDIS_OPTION_RANGES.items():
        value = options.get(name)
        if isinstance(value, int) and not low <= value <= high:
            raise ConfigurationError(f"Broker URL option {name}={value} must be between {low} and {high}.")
    from redis.connection import URL_QUERY_ARGUMENT_PARSERS

    known = set(URL_QUERY_ARGUMENT_PARSERS) | REDIS_CONNECTION_OPTIONS
    secure = urlsplit(connection_url).scheme.lower() == "rediss"
    for name, _ in parse_qsl(urlsplit(connection_url).query, keep_blank_values=True):
        if name not in known and not (secure and name.startswith("ssl_")):
            choices = ", ".join(sorted(known | set(REDIS_BROKER_OPTIONS)))
            raise ConfigurationError(
                f"Unknown option {name!r} in the broker URL {hide_password(url)!r}; known options: {choices}."
            )


def _malformed(url: str, wrong: ValueError) -> ConfigurationError:
    return ConfigurationError(
        f"Cannot use the broker URL {hide_password(url)!r}: {wrong}. Write it like "
        "redis://host:6379/0 or amqp://user:password@host:5672/vhost."
    )


def build_broker(url: str) -> Broker:
    """Create (without connecting) the broker a URL names; every broker gets ``CurrentMessage``, none ``TimeLimit``.

    Dramatiq's ``TimeLimit`` bounds a whole message (and starts only under Dramatiq's own command);
    Statewright bounds each handler instead (see ``engine.work.limits``), so a message held while the
    database is unreachable is not interrupted.

    Raises:
        ConfigurationError: The scheme is not one of ``SCHEMES``, or an option is malformed.
        MissingDependency: The broker's client is not installed (``statewright[redis]``, ``statewright[rabbitmq]``).
    """
    from dramatiq.middleware import CurrentMessage, TimeLimit

    scheme = url.split("://", 1)[0].lower() if "://" in url else url
    if scheme == "memory":
        from dramatiq.brokers.stub import StubBroker

        broker: Broker = StubBroker()
    elif scheme in ("redis", "rediss"):
        try:
            from dramatiq.brokers.redis import RedisBroker
        except ImportError as missing:
            raise missing_dependency(missing, "The Redis broker") from None
        connection_url, options = split_options(url, REDIS_BROKER_OPTIONS)
        _check_redis_options(url, options, connection_url)
        try:
            broker = RedisBroker(url=connection_url, **options)  # type: ignore[no-untyped-call]  # unannotated
        except ValueError as wrong:  # redis-py's own URL checks (no host, a port out of range)
            raise _malformed(url, wrong) from None
    elif scheme in ("amqp", "amqps"):
        try:
            from dramatiq.brokers.rabbitmq import RabbitmqBroker
        except ImportError as missing:
            raise missing_dependency(missing, "The RabbitMQ broker") from None
        try:
            broker = RabbitmqBroker(url=url)
        except ValueError as wrong:  # pika's own URL checks
            raise _malformed(url, wrong) from None
    else:
        # The URL may carry a password: the message shows it masked.
        shown = DEFAULT_REDACTOR.text(url)
        raise ConfigurationError(
            f"Unsupported broker URL {shown!r}; use memory://, redis://host:port/db or "
            "amqp://user:password@host:port/vhost."
        )
    # The task runner reads the delivery's retry count to know when it is the last attempt.
    if not any(isinstance(m, CurrentMessage) for m in broker.middleware):
        broker.add_middleware(CurrentMessage())
    broker.middleware[:] = [m for m in broker.middleware if not isinstance(m, TimeLimit)]
    # An actor declared with Dramatiq's `time_limit` option would not be limited: refuse the option.
    broker.actor_options.discard("time_limit")
    return broker
