"""`statewright worker` as real processes: another process's jobs get done; SIGTERM stops it cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine import Statewright
from engine.cli import EXIT_OK, EXIT_USAGE, main
from tests.conftest import ROOT
from tests.work.app.models import Job
from tests.work.conftest import BROKER_URLS, MACHINES


@pytest.fixture
def broker_url() -> str:
    """Workers in other processes need a shared broker: Redis here."""
    return BROKER_URLS["redis"]


@pytest.fixture
def database_url(postgres_url: str) -> str:
    """Several processes share the database: PostgreSQL."""
    return postgres_url


def _statewright() -> str:
    return str(Path(sys.executable).parent / "statewright")


def test_workers_in_other_processes_do_the_work_and_stop_on_sigterm(app: Statewright, broker_url: str) -> None:
    url = app.engine.url.render_as_string(hide_password=False)
    worker = subprocess.Popen(
        [_statewright(), "worker", "--machines", str(MACHINES), "--database-url", url, "--broker-url", broker_url,
         "--processes", "2", "--threads", "2", "--sweep-every", "1"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        with app.session() as session:
            jobs = [Job(behaviour="ok") for _ in range(10)]
            session.add_all(jobs)
            session.commit()
            ids = [job.id for job in jobs]
        deadline = time.monotonic() + 60
        states: list[str] = []
        while time.monotonic() < deadline:
            with app.session() as session:
                states = [session.get_one(Job, job_id).status.state for job_id in ids]
            if all(state == "done" for state in states):
                break
            time.sleep(0.2)
        assert states == ["done"] * 10
    finally:
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=60)
    assert worker.returncode == EXIT_OK, output
    assert "Traceback" not in output


def test_the_worker_refuses_the_in_process_broker() -> None:
    result = CliRunner().invoke(main, ["worker", "--machines", str(MACHINES), "--broker-url", "memory://"])
    assert result.exit_code == EXIT_USAGE
    assert "memory:// lives inside one process" in result.output
