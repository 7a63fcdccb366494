"""``examples/dramatiq_worker.py`` under Dramatiq's own ``dramatiq`` command: it works, sweeps and stops."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from engine import Statewright
from engine.cli import EXIT_OK
from tests.conftest import ROOT
from tests.work.conftest import MACHINES
from tests.work.processes import (  # noqa: F401 - fixtures
    one_job_done,
    postgres_database_url,
    redis_broker_url,
    worker_environment,
)


def test_the_example_module_runs_the_work_and_stops_on_sigterm(app: Statewright, broker_url: str) -> None:
    settings = {
        "STATEWRIGHT_MACHINES": str(MACHINES),
        "STATEWRIGHT_DATABASE_URL": app.engine.url.render_as_string(hide_password=False),
        "STATEWRIGHT_BROKER_URL": broker_url,
    }
    dramatiq = subprocess.Popen(
        [str(Path(sys.executable).parent / "dramatiq"), "examples.dramatiq_worker:broker", "--processes", "1"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        env=worker_environment(settings),
    )
    try:
        one_job_done(app)
        time.sleep(1)  # the worker process is up; its sweeper thread started with it
    finally:
        dramatiq.send_signal(signal.SIGTERM)  # Dramatiq's main process alone: it passes the signal on
        output, _ = dramatiq.communicate(timeout=60)
        if dramatiq.returncode is None:
            os.killpg(dramatiq.pid, signal.SIGKILL)
    assert dramatiq.returncode == EXIT_OK, output
    assert "Traceback" not in output, output
    assert "Worker has been shut down" in output, output


def test_the_example_module_adds_the_periodic_sweep() -> None:
    """Without ``add_sweeper`` nothing would send unsent outbox rows or move timed-out objects under ``dramatiq``."""
    code = (
        "from engine.work.sweeper import Sweeper; import examples.dramatiq_worker as module; "
        "print(sum(isinstance(middleware, Sweeper) for middleware in module.broker.middleware))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=worker_environment(
            {"STATEWRIGHT_MACHINES": str(MACHINES), "STATEWRIGHT_DATABASE_URL": "sqlite://"},
            without=("STATEWRIGHT_BROKER_URL",),
        ),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1", done.stdout
