"""`statewright worker` as real processes: another process's jobs get done; SIGTERM stops it cleanly."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from engine import Statewright
from engine.cli import EXIT_OK, EXIT_UNAVAILABLE, EXIT_USAGE, main
from tests.conftest import free_port
from tests.work.app.models import Job
from tests.work.conftest import BROKER_URLS, MACHINES
from tests.work.processes import (  # noqa: F401 - fixtures
    PROCESS_BROKER_URL,
    PROCESS_NAMESPACE,
    postgres_database_url,
    redis_broker_url,
    run_worker,
    start_worker,
    stop_worker,
)


def test_workers_in_other_processes_do_the_work_and_stop_on_sigterm(app: Statewright, broker_url: str) -> None:
    worker = start_worker(app, broker_url, "--processes", "2", "--threads", "2", "--sweep-every", "1")
    try:
        with app.sessionmaker() as session:
            jobs = [Job(behaviour="ok") for _ in range(10)]
            session.add_all(jobs)
            session.commit()
            ids = [job.id for job in jobs]
        deadline = time.monotonic() + 60
        states: list[str] = []
        while time.monotonic() < deadline:
            with app.sessionmaker() as session:
                states = [session.get_one(Job, job_id).status.state for job_id in ids]
            if all(state == "done" for state in states):
                break
            time.sleep(0.2)
        assert states == ["done"] * 10
    finally:
        output = stop_worker(worker, group=False)
    assert worker.returncode == EXIT_OK, output
    assert "Traceback" not in output


def test_the_worker_refuses_the_in_process_broker() -> None:
    result = CliRunner().invoke(main, ["worker", "--machines", str(MACHINES), "--broker-url", "memory://"])
    assert result.exit_code == EXIT_USAGE
    assert "memory:// lives inside one process" in result.output


def _refused(app: Statewright, machines: Path) -> subprocess.CompletedProcess[str]:
    """The worker without --http-base-url (nor its variable)."""
    return run_worker(
        app, PROCESS_BROKER_URL, machines=machines, http_base_url=None, without=("STATEWRIGHT_HTTP_BASE_URL",)
    )


def _queued_messages(app: Statewright) -> int:
    import redis

    client = redis.Redis.from_url(BROKER_URLS["redis"])
    return sum(int(client.hlen(key)) for key in client.keys(f"{PROCESS_NAMESPACE}:*.msgs"))


def test_a_path_url_without_a_base_url_stops_the_worker_before_it_consumes_anything(app: Statewright) -> None:
    with app.sessionmaker() as session:
        job = Job(behaviour="ok")
        session.add(job)
        session.commit()
    assert _queued_messages(app) == 1
    result = _refused(app, MACHINES)
    assert result.returncode == EXIT_USAGE, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        f"statewright worker: {MACHINES / 'call.yaml'}:18:11: endpoint 'deliver' of machine 'call' calls a path "
        "('/calls/{model.path}?token={model.token}&page=1') but no HTTP base URL is set; give --http-base-url "
        "https://host (or $STATEWRIGHT_HTTP_BASE_URL)."
    ]
    assert _queued_messages(app) == 1, "the job's message is still waiting"


def test_a_dotted_path_that_does_not_import_stops_the_worker_with_one_line(app: Statewright, tmp_path: Path) -> None:
    machine = (
        (MACHINES / "job.yaml")
        .read_text()
        .replace("tests.work.app.handlers:remember", "tests.work.app.nowhere:remember")
    )
    (tmp_path / "job.yaml").write_text(machine)
    result = _refused(app, tmp_path)
    assert result.returncode == EXIT_USAGE, result.stderr
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"statewright worker: {tmp_path / 'job.yaml'}:")
    assert "SW501 Cannot import module 'tests.work.app.nowhere'" in line


def _redis_db(index: str, query: str = "") -> str:
    return BROKER_URLS["redis"].rsplit("/", 1)[0] + f"/{index}{query}"


@pytest.mark.parametrize(
    ("broker", "fragment"),
    [
        (lambda: _redis_db("13", "?bogus=1"), "Unknown option 'bogus' in the broker URL"),
        (lambda: _redis_db("13", "?heartbeat_timeout=-5"), "heartbeat_timeout=-5 must be between 1 and"),
        (lambda: _redis_db("99999999999999"), "refused its settings"),
        (lambda: "amqp://guest:guest@127.0.0.1:5672/?bogus=1", "Unknown URL parameter: 'bogus'"),
    ],
    ids=["unknown option", "negative heartbeat", "database index out of range", "amqp unknown option"],
)
def test_a_broker_url_with_wrong_settings_stops_the_worker_with_one_line(
    app: Statewright, broker: Any, fragment: str
) -> None:
    """The worker used to print tracebacks forever, never consuming and never exiting."""
    result = run_worker(app, broker())
    assert result.returncode == EXIT_USAGE, result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith("statewright worker: ")
    assert fragment in line


@pytest.mark.parametrize(
    "broker",
    [lambda port: f"redis://127.0.0.1:{port}/0", lambda port: f"amqp://guest:pw@127.0.0.1:{port}/"],
    ids=["redis", "amqp"],
)
def test_a_broker_nothing_listens_for_stops_the_worker_quickly(app: Statewright, broker: Any) -> None:
    started = time.monotonic()
    result = run_worker(app, broker(free_port()))
    assert result.returncode == EXIT_UNAVAILABLE, result.stderr
    (line,) = result.stderr.splitlines()
    assert "cannot reach the broker" in line
    assert "pw" not in line
    assert time.monotonic() - started < 30
