"""What tests running ``statewright worker`` in processes of its own share: the services, starting and stopping.

Import the fixtures into a test module (``from tests.work.processes import redis_broker_url, postgres_database_url``) to
override the in-process defaults of ``tests/work/conftest.py``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

import pytest

from engine import Statewright
from tests.conftest import ROOT
from tests.work.app.models import Job
from tests.work.conftest import BROKER_URLS, MACHINES

#: The machines include an endpoint with a path URL; the worker needs a base URL, though no call is made.
NO_CALLS = "http://127.0.0.1:9"

#: Queues of worker processes live under a namespace of their own in the tests' Redis database: a process a
#: test killed leaves messages that Redis hands back later, and a worker that outlives its test would consume
#: from the queues of whichever test runs next; neither may reach the in-process tests' queues.
PROCESS_NAMESPACE = "statewright-processes"
PROCESS_BROKER_URL = f"{BROKER_URLS['redis']}{'&' if '?' in BROKER_URLS['redis'] else '?'}namespace={PROCESS_NAMESPACE}"


@pytest.fixture(name="broker_url")
def redis_broker_url() -> str:
    """Processes share a broker: Redis, under the processes' own namespace."""
    return PROCESS_BROKER_URL


@pytest.fixture(name="database_url")
def postgres_database_url(postgres_url: str) -> str:
    """Processes share a database: PostgreSQL."""
    return postgres_url


def worker_command(
    app: Statewright, broker_url: str, *extra: str, machines: Path = MACHINES, http_base_url: str | None = NO_CALLS
) -> list[str]:
    """``statewright worker`` of this virtualenv on the app's database (``http_base_url=None``: none given)."""
    base_url = ["--http-base-url", http_base_url] if http_base_url is not None else []
    return [
        str(Path(sys.executable).parent / "statewright"),
        "worker",
        "--machines",
        str(machines),
        "--database-url",
        app.engine.url.render_as_string(hide_password=False),
        "--broker-url",
        broker_url,
        *base_url,
        *extra,
    ]


def worker_environment(env: Mapping[str, str] | None = None, *, without: tuple[str, ...] = ()) -> dict[str, str]:
    """This process's environment less ``without``, with the repository importable, and ``env`` on top."""
    kept = {key: value for key, value in os.environ.items() if key not in without}
    return kept | {"PYTHONPATH": str(ROOT)} | dict(env or {})


def start_worker(
    app: Statewright,
    broker_url: str,
    *extra: str,
    env: Mapping[str, str] | None = None,
    without: tuple[str, ...] = (),
    stdout: int | IO[Any] = subprocess.PIPE,
    stderr: int | IO[Any] = subprocess.STDOUT,
) -> subprocess.Popen[str]:
    """``statewright worker`` running in a session of its own (a test can signal its whole group, as a terminal does).

    Output is text, standard error in standard output unless told otherwise; ``stop_worker`` ends it.
    """
    return subprocess.Popen(
        worker_command(app, broker_url, *extra),
        cwd=ROOT,
        stdout=stdout,
        stderr=stderr,
        text=True,
        start_new_session=True,
        env=worker_environment(env, without=without),
    )


def run_worker(
    app: Statewright,
    broker_url: str,
    *extra: str,
    machines: Path = MACHINES,
    http_base_url: str | None = NO_CALLS,
    without: tuple[str, ...] = (),
) -> subprocess.CompletedProcess[str]:
    """``statewright worker`` expected to stop by itself (a refusal), its output captured."""
    return subprocess.run(
        worker_command(app, broker_url, *extra, machines=machines, http_base_url=http_base_url),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env=worker_environment(without=without),
    )


def wait_for(
    condition: Callable[[], object], seconds: float = 60, *, every: float = 0.05, why: Callable[[], str] | None = None
) -> None:
    """Poll ``condition`` until it is true; fail after ``seconds`` (with ``why()`` as the message if given)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() >= deadline:
            raise AssertionError(why() if why is not None else "timed out waiting")
        time.sleep(every)


def one_job_done(app: Statewright, *, why: Callable[[], str] | None = None) -> None:
    """Add a job and wait until a worker in another process did it (so the worker is up and consuming)."""
    with app.sessionmaker() as session:
        job = Job(behaviour="ok")
        session.add(job)
        session.commit()
        job_id = job.id

    def done() -> bool:
        with app.sessionmaker() as session:
            return bool(session.get_one(Job, job_id).status.state == "done")

    wait_for(done, every=0.2, why=why)


def stop_worker(worker: subprocess.Popen[str], *, group: bool = True) -> str:
    """SIGTERM the worker's whole group (``group=False``: its first process only) unless it ended; its output."""
    if worker.poll() is None:
        if group:
            os.killpg(worker.pid, signal.SIGTERM)
        else:
            worker.send_signal(signal.SIGTERM)
    output, _ = worker.communicate(timeout=60)
    return output or ""


def kill_leftovers(worker: subprocess.Popen[str]) -> None:
    """SIGKILL whatever is left of the worker's session (nothing, when the test passed)."""
    try:
        os.killpg(worker.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
