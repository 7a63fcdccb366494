"""Build a Dramatiq broker from a URL: ``memory://`` (in-process), ``redis://…`` or ``amqp://…``."""

from __future__ import annotations

from dramatiq import Broker
from dramatiq.middleware import CurrentMessage

#: URL schemes and what they build.
SCHEMES = ("memory", "redis", "rediss", "amqp", "amqps")


def build_broker(url: str) -> Broker:
    """Create (without connecting) the broker a URL names; every broker gets ``CurrentMessage``.

    Raises:
        ValueError: The scheme is not one of ``SCHEMES``.
    """
    scheme = url.split("://", 1)[0].lower() if "://" in url else url
    if scheme == "memory":
        from dramatiq.brokers.stub import StubBroker

        broker: Broker = StubBroker()
    elif scheme in ("redis", "rediss"):
        try:
            from dramatiq.brokers.redis import RedisBroker
        except ImportError as missing:
            raise ImportError("The Redis broker needs its client. Install with `pip install statewright[redis]`.") \
                from missing
        broker = RedisBroker(url=url)  # type: ignore[no-untyped-call]  # unannotated in dramatiq
    elif scheme in ("amqp", "amqps"):
        try:
            from dramatiq.brokers.rabbitmq import RabbitmqBroker
        except ImportError as missing:
            raise ImportError("The RabbitMQ broker needs its client. Install with "
                              "`pip install statewright[rabbitmq]`.") from missing
        broker = RabbitmqBroker(url=url)
    else:
        raise ValueError(f"Unsupported broker URL {url!r}; use memory://, redis://host:port/db or "
                         "amqp://user:password@host:port/vhost.")
    # The task runner reads the delivery's retry count to know when it is the last attempt.
    if not any(isinstance(m, CurrentMessage) for m in broker.middleware):
        broker.add_middleware(CurrentMessage())
    return broker
