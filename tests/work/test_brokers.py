"""Brokers from URLs: the scheme picks the broker, a Redis URL's own query parameters configure it."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker

from engine import ConfigurationError
from engine.cli import main
from engine.cli.exits import EXIT_USAGE
from engine.work.brokers import build_broker
from tests.work.conftest import MACHINES


def test_memory_url_builds_the_in_process_broker() -> None:
    assert isinstance(build_broker("memory://"), StubBroker)


def test_redis_url_options_configure_the_broker_and_leave_the_connection_url() -> None:
    broker = build_broker("redis://127.0.0.1:6379/15?heartbeat_timeout=2500&maintenance_chance=7&namespace=sw")
    assert isinstance(broker, RedisBroker)
    assert (broker.heartbeat_timeout, broker.maintenance_chance, broker.namespace) == (2500, 7, "sw")
    assert broker.client.connection_pool.connection_kwargs["db"] == 15
    broker.close()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("kafka://broker:9092", "Unsupported broker URL 'kafka://broker:9092'"),
        ("redis://127.0.0.1:6379/0?heartbeat_timeout=soon", "heartbeat_timeout='soon' must be int"),
    ],
)
def test_a_bad_broker_url_is_a_configuration_error(url: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        build_broker(url)


def test_the_cli_reports_a_bad_broker_url_without_a_traceback() -> None:
    result = CliRunner().invoke(main, ["sweep", "--machines", str(MACHINES), "--broker-url", "kafka://broker:9092"])
    assert result.exit_code == EXIT_USAGE
    assert "statewright sweep: Unsupported broker URL 'kafka://broker:9092'" in result.output
    assert "Traceback" not in result.output


def test_a_bad_broker_url_is_reported_without_its_password() -> None:
    with pytest.raises(ConfigurationError) as refused:
        build_broker("kafka://ada:broker-pw-1@broker:9092")
    assert "broker-pw-1" not in str(refused.value)
    assert "'kafka://***@broker:9092'" in str(refused.value)
