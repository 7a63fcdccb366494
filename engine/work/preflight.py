"""What a worker checks before it consumes anything: problems that would fail every message of some work, and
whether the broker answers."""

from __future__ import annotations

from collections.abc import Iterable

from engine.errors import BrokerUnavailable, ConfigurationError
from engine.redaction import hide_password
from engine.spec.model import MachineSpec
from engine.spec.resolve import resolve_spec
from engine.work.brokers import REDIS_BROKER_OPTIONS, split_options

#: Seconds a worker waits for the broker to accept a connection and answer, when it starts.
DEFAULT_BROKER_CHECK_TIMEOUT = 3.0


def startup_problems(specs: Iterable[MachineSpec], *, http_base_url: str | None) -> list[str]:
    """One line per problem: endpoint URLs that are paths with no base URL, dotted paths that do not import.

    Args:
        specs: The machines the worker will run.
        http_base_url: The base URL endpoint paths are joined to, if any.
    """
    problems: list[str] = []
    for spec in specs:
        problems += [diagnostic.render() for diagnostic in resolve_spec(spec)]
        if http_base_url:
            continue
        for endpoint in spec.endpoints.values():
            if endpoint.url.startswith("/"):
                problems.append(
                    f"{endpoint.origin.text('url')}: endpoint {endpoint.name!r} of machine "
                    f"{spec.name!r} calls a path ({endpoint.url!r}) but no HTTP base URL is set; "
                    "give --http-base-url https://host (or $STATEWRIGHT_HTTP_BASE_URL)."
                )
    return problems


def check_broker(url: str, *, timeout: float = DEFAULT_BROKER_CHECK_TIMEOUT) -> None:
    """Connect to the broker once, briefly: a Redis ``PING``, or one RabbitMQ connection opened and closed.

    ``memory://`` needs no check. The URL is assumed well-formed (``build_broker`` accepted it).

    Args:
        url: The broker URL.
        timeout: Seconds to connect and to wait for the answer.

    Raises:
        ConfigurationError: The broker answered but refused the URL's settings (a database index out of
            range, a wrong password or virtual host).
        BrokerUnavailable: Nothing answered at the broker's address in time.
    """
    scheme = url.split("://", 1)[0].lower()
    if scheme in ("redis", "rediss"):
        _ping_redis(url, timeout)
    elif scheme in ("amqp", "amqps"):
        _open_rabbitmq(url, timeout)


def _unavailable(url: str, reason: object) -> BrokerUnavailable:
    return BrokerUnavailable(
        f"cannot reach the broker {hide_password(url)!r}: {str(reason).rstrip('.')}. "
        "Check --broker-url and that the broker is running."
    )


def _refused(url: str, reason: object) -> ConfigurationError:
    return ConfigurationError(
        f"the broker {hide_password(url)!r} refused its settings: {str(reason).rstrip('.')}. "
        "Check the database index, user, password or virtual host in --broker-url."
    )


def _ping_redis(url: str, timeout: float) -> None:
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    connection_url, _ = split_options(url, REDIS_BROKER_OPTIONS)
    client = redis.Redis.from_url(
        connection_url,
        socket_connect_timeout=timeout,
        socket_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
        retry_on_timeout=False,
    )
    try:
        client.ping()
    # Authentication and a bad database index come back as answers: the broker is there, the settings are wrong.
    except (redis.exceptions.AuthenticationError, redis.exceptions.ResponseError) as refused:
        raise _refused(url, refused) from None
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError) as down:
        raise _unavailable(url, down) from None
    finally:
        client.close()


def _open_rabbitmq(url: str, timeout: float) -> None:
    import pika  # type: ignore[import-untyped]  # pika ships no type hints
    from pika.exceptions import (  # type: ignore[import-untyped]  # no type hints
        AMQPConnectionError,
        ProbableAccessDeniedError,
        ProbableAuthenticationError,
    )

    parameters = pika.URLParameters(url)
    parameters.connection_attempts = 1
    parameters.retry_delay = 0
    parameters.socket_timeout = timeout
    parameters.stack_timeout = timeout
    parameters.blocked_connection_timeout = timeout
    try:
        pika.BlockingConnection(parameters).close()
    except (ProbableAuthenticationError, ProbableAccessDeniedError) as refused:
        raise _refused(url, refused) from None
    except (AMQPConnectionError, OSError) as down:
        raise _unavailable(url, str(down) or type(down).__name__) from None
