"""The ``Sweeper`` middleware: it sweeps on a thread from worker boot to shutdown; not while the database is down."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from dramatiq import Worker
from dramatiq.brokers.stub import StubBroker
from sqlalchemy import Engine, text

from engine import Statewright
from engine.statewright import make_engine
from engine.work.gate import DatabaseGate
from engine.work.sweeper import STEP_JOIN_SECONDS, Sweeper, SweepStep, add_sweeper, sweep_steps
from tests.conftest import free_port
from tests.services import PrivatePostgres


@pytest.fixture
def broker_url() -> str:
    """The sweeper does not depend on the broker: the in-process one is enough."""
    return "memory://"


@pytest.fixture
def dead_engine() -> Iterator[Engine]:
    """An engine on a port nothing listens on: every connection fails as an outage."""
    engine = make_engine(f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/none")
    yield engine
    engine.dispose()


def _until(condition: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _connect(engine: Engine) -> None:
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def _worker_with(sweeper: Sweeper) -> Worker:
    broker = StubBroker()
    broker.add_middleware(sweeper)
    return Worker(broker, worker_threads=1, worker_timeout=100)


def test_the_steps_run_in_order_every_interval_from_worker_boot_until_shutdown(dead_engine: Engine) -> None:
    runs: list[str] = []
    sweeper = Sweeper(
        [SweepStep("a", lambda: runs.append("a")), SweepStep("b", lambda: runs.append("b"))],
        gate=DatabaseGate(dead_engine),
        every=0.05,
    )
    worker = _worker_with(sweeper)
    assert not sweeper.running, "nothing runs before the worker boots"
    worker.start()
    _until(lambda: len(runs) >= 6)
    asked = time.monotonic()
    worker.stop()
    assert time.monotonic() - asked < 1, "the stop did not wait for the next interval"
    assert not sweeper.running
    done = len(runs)
    time.sleep(0.2)
    assert len(runs) == done, "no sweep after shutdown"
    assert runs[: done - done % 2] == ["a", "b"] * (done // 2)


def test_no_step_runs_while_the_gate_says_the_database_is_down(dead_engine: Engine) -> None:
    gate = DatabaseGate(dead_engine)
    runs: list[str] = []
    sweeper = Sweeper([SweepStep("a", lambda: runs.append("a"))], gate=gate, every=60)
    started = time.monotonic()
    with pytest.raises(Exception) as lost:  # noqa: PT011 - whatever the driver raises for a refused connection
        _connect(dead_engine)
    gate.report(lost.value, started=started)
    assert not gate.is_healthy
    sweeper.sweep()
    assert runs == []


def test_a_step_that_loses_the_database_reports_it_to_the_gate_and_ends_the_sweep(dead_engine: Engine) -> None:
    gate = DatabaseGate(dead_engine)
    runs: list[str] = []
    sweeper = Sweeper(
        [SweepStep("outbox", lambda: _connect(dead_engine)), SweepStep("b", lambda: runs.append("b"))],
        gate=gate,
        every=60,
    )
    sweeper.sweep()
    assert not gate.is_healthy, "the gate now probes the database; its lines speak for the outage"
    assert runs == [], "the steps after it wait for the next sweep"


def test_a_step_that_fails_otherwise_is_logged_and_the_next_step_runs(
    dead_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    runs: list[str] = []

    def broken() -> None:
        raise KeyError("outbox row 7")

    sweeper = Sweeper(
        [SweepStep("outbox", broken), SweepStep("b", lambda: runs.append("b"))],
        gate=DatabaseGate(dead_engine),
        every=60,
    )
    with caplog.at_level(logging.ERROR, logger="engine.worker"):
        sweeper.sweep()
    assert runs == ["b"]
    assert [record.getMessage() for record in caplog.records] == ["outbox sweep failed; retrying at the next interval"]


def test_a_step_that_waits_for_a_lease_is_skipped_until_the_database_has_been_back_that_long(
    private_postgres: PrivatePostgres,
) -> None:
    engine = make_engine(private_postgres.url)
    gate = DatabaseGate(engine)
    runs: list[str] = []
    sweeper = Sweeper(
        [
            SweepStep("resend", lambda: runs.append("resend"), settle=timedelta(seconds=60)),
            SweepStep("timeouts", lambda: runs.append("timeouts")),
        ],
        gate=gate,
        every=60,
    )
    sweeper.sweep()
    assert runs == ["resend", "timeouts"], "the database never went away"
    private_postgres.stop()
    sweeper = Sweeper([SweepStep("outbox", lambda: _connect(engine)), *sweeper.steps], gate=gate, every=60)
    sweeper.sweep()
    assert not gate.is_healthy
    private_postgres.start()
    _until(lambda: gate.is_healthy)
    runs.clear()
    sweeper.sweep()
    engine.dispose()
    assert runs == ["timeouts"], "no lease could be renewed while the database was away"


def test_a_stop_during_a_step_waits_for_it_a_bounded_time(
    dead_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    release = threading.Event()
    entered = threading.Event()

    def stuck() -> None:
        entered.set()
        release.wait(30)

    sweeper = Sweeper([SweepStep("outbox", stuck)], gate=DatabaseGate(dead_engine), every=0.01)
    worker = _worker_with(sweeper)
    worker.start()
    entered.wait(10)
    asked = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="engine.worker"):
        worker.stop()
    waited = time.monotonic() - asked
    release.set()
    assert STEP_JOIN_SECONDS - 0.1 < waited < STEP_JOIN_SECONDS + 1
    assert "stopping without the sweep step in progress (still running after 2.0 s)" in caplog.text


def test_an_apps_sweep_sends_the_outbox_resends_then_moves_each_machines_timeouts(app: Statewright) -> None:
    steps = sweep_steps(app)
    assert [step.name for step in steps] == [
        "outbox",
        "resend",
        *(f"{name} timeouts" for name in app.flows),
        "callback deliveries",
    ]
    assert steps[1].settle == app.work.leases.duration
    assert {step.settle for step in steps[2:]} | {steps[0].settle} == {timedelta(0)}
    sweeper = add_sweeper(app, every=30)
    assert sweeper in app.broker.middleware
