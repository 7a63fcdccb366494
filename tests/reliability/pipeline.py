"""A task pipeline under faults: ``statewright worker`` processes, a producer, and what the test checks after.

The job machine's ``crunch`` handler, for jobs with ``behaviour="marked"``, appends the job's id to a
marker file on every run and then works for ``STATEWRIGHT_TEST_WORK`` seconds: the marker counts handler
runs across processes (a line appended with ``O_APPEND`` is written whole). For example::

    with Pipeline(database_url, broker_url, tmp_path) as pipeline:
        pipeline.start_worker()
        pipeline.produce(2000, seconds=10)
        ...                                  # stop the database, kill the broker, kill a worker
        pipeline.wait_until_done(timeout=300)
        pipeline.assert_exactly_once()       # gapless histories, one handler run per object
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Self

from sqlalchemy import func, select

from engine import Statewright
from engine.orm.tables import outbox, statuses
from tests.conftest import ROOT, fresh_tables
from tests.work.app.models import Job, JobBase
from tests.work.conftest import MACHINES

#: The history every job that finished once has.
EXPECTED = [(None, "queued"), ("queued", "running"), ("running", "done")]
#: The machines include an endpoint with a path URL; the worker needs a base URL, though no call is made here.
NO_CALLS = "http://127.0.0.1:9"


class Pipeline:
    """Workers on ``database_url`` and ``broker_url``, and an app object producing jobs into them.

    Args:
        database_url: A PostgreSQL URL (the workers are other processes).
        broker_url: A Redis or RabbitMQ URL.
        folder: Where the marker file and the workers' logs go.
        work_seconds: How long each handler run works.
    """

    def __init__(self, database_url: str, broker_url: str, folder: Path, *, work_seconds: float = 0.01) -> None:
        self.database_url = database_url
        self.broker_url = broker_url
        self.folder = folder
        self.marker = folder / "runs"
        self.work_seconds = work_seconds
        self.workers: list[subprocess.Popen[bytes]] = []
        self.app = Statewright.from_path(MACHINES, database_url=database_url, broker_url=broker_url)
        fresh_tables(self.app.engine, JobBase.metadata)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    # Processes -------------------------------------------------------------------------------
    def start_worker(
        self,
        *options: str,
        processes: int = 2,
        threads: int = 4,
        sweep_every: str = "1",
        env: Mapping[str, str] | None = None,
    ) -> subprocess.Popen[bytes]:
        """Start ``statewright worker`` in a process group of its own; its output goes to ``worker-N.log``.

        ``env``: more environment variables (``STATEWRIGHT_LEASE``, say).
        """
        log = (self.folder / f"worker-{len(self.workers)}.log").open("wb")
        worker = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "statewright"),
                "worker",
                "--machines",
                str(MACHINES),
                "--database-url",
                self.database_url,
                "--broker-url",
                self.broker_url,
                "--processes",
                str(processes),
                "--threads",
                str(threads),
                "--sweep-every",
                sweep_every,
                "--http-base-url",
                NO_CALLS,
                *options,
            ],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={
                **os.environ,
                "PYTHONPATH": str(ROOT),
                "STATEWRIGHT_TEST_MARKER": str(self.marker),
                "STATEWRIGHT_TEST_WORK": str(self.work_seconds),
                **(env or {}),
            },
        )
        log.close()
        self.workers.append(worker)
        return worker

    def kill_worker(self, worker: subprocess.Popen[bytes]) -> None:
        """SIGKILL a worker's whole process group, as a crash would."""
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)

    def worker_logs(self) -> str:
        """Everything the workers printed, each log under its name."""
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')}" for path in sorted(self.folder.glob("worker-*.log"))
        )

    def log_lines(self) -> int:
        """How many lines the workers printed so far (all logs together)."""
        return sum(len(path.read_bytes().splitlines()) for path in self.folder.glob("worker-*.log"))

    def close(self) -> None:
        """Stop every worker (SIGTERM, then SIGKILL after 60 s) and close the app object."""
        for worker in self.workers:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGTERM)
        for worker in self.workers:
            try:
                worker.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait(timeout=30)
        self.app.close()

    # Producing -------------------------------------------------------------------------------
    def produce(self, count: int, *, seconds: float = 0.0, batches: int = 20) -> list[int]:
        """Create ``count`` marked jobs in ``batches`` commits spread over ``seconds``; returns their ids."""
        ids: list[int] = []
        for batch in range(batches):
            size = count // batches + (1 if batch < count % batches else 0)
            if size:
                with self.app.sessionmaker() as session:
                    jobs = [Job(behaviour="marked") for _ in range(size)]
                    session.add_all(jobs)
                    session.commit()
                    ids += [job.id for job in jobs]
            if seconds:
                time.sleep(seconds / batches)
        return ids

    def produce_and_die(self, count: int, *, batches: int, die_after: int) -> list[int]:
        """Create ``count`` marked jobs in ``batches`` commits from a producer process that SIGKILLs itself right
        after commit number ``die_after``, before its relay sent that commit's work; returns the ids committed."""
        died = subprocess.run(
            [
                sys.executable,
                "-m",
                "tests.reliability.producer",
                self.database_url,
                self.broker_url,
                str(count),
                str(batches),
                str(die_after),
            ],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            timeout=300,
        )
        assert died.returncode == -signal.SIGKILL, died.stderr.decode(errors="replace")
        with self.app.engine.connect() as connection:
            return list(connection.scalars(select(Job.id).order_by(Job.id)))

    # Checking --------------------------------------------------------------------------------
    def ids_in(self, state: str) -> frozenset[str]:
        """The ids of the jobs in ``state`` now (as history rows name them)."""
        with self.app.engine.connect() as connection:
            rows = connection.scalars(select(Job.id).where(Job.status == Job.Status[state.upper()])).all()
        return frozenset(str(job_id) for job_id in rows)

    def done(self) -> int:
        """How many jobs are ``done`` now."""
        with self.app.engine.connect() as connection:
            return connection.scalar(select(func.count()).select_from(Job).where(Job.status == Job.Status.DONE)) or 0

    def wait_until_done(self, count: int, *, timeout: float) -> float:
        """Wait until at least ``count`` jobs are done; returns the seconds it took.

        Raises:
            AssertionError: Not all were done within ``timeout`` seconds (the message has the workers' logs).
        """
        started = time.monotonic()
        while self.done() < count:
            if time.monotonic() - started > timeout:
                raise AssertionError(f"{self.done()} of {count} jobs done after {timeout} s\n{self.worker_logs()}")
            time.sleep(0.2)
        return time.monotonic() - started

    def histories(self) -> dict[str, list[tuple[str | None, str]]]:
        """Every job's moves, oldest first."""
        with self.app.engine.connect() as connection:
            rows = connection.execute(
                select(statuses.c.model_id, statuses.c.from_state, statuses.c.to_state)
                .where(statuses.c.machine == "job")
                .order_by(statuses.c.id)
            ).all()
        moves: dict[str, list[tuple[str | None, str]]] = {}
        for model_id, source, target in rows:
            moves.setdefault(model_id, []).append((source, target))
        return moves

    def handler_runs(self) -> Counter[str]:
        """How often the handler ran for each job id (from the marker file)."""
        return Counter(self.marker.read_text().split()) if self.marker.exists() else Counter()

    def sends(self) -> Counter[int]:
        """How many times each task's outbox row was sent (``attempts``)."""
        with self.app.engine.connect() as connection:
            rows = connection.execute(select(outbox.c.id, outbox.c.attempts).where(outbox.c.kind == "task")).all()
        return Counter({row_id: attempts for row_id, attempts in rows})

    def assert_exactly_once(self, ids: list[int], *, rerun_allowed: frozenset[str] = frozenset()) -> None:
        """Every job finished once with a gapless history, and its handler ran once (``rerun_allowed``: ids whose
        worker died mid-handler, which may run twice)."""
        histories = self.histories()
        wrong = {job: moves for job, moves in histories.items() if moves != EXPECTED}
        assert sorted(histories) == sorted(str(job_id) for job_id in ids)
        assert wrong == {}, f"{len(wrong)} jobs with another history, e.g. {list(wrong.items())[:3]}"
        runs = self.handler_runs()
        twice = {job: count for job, count in runs.items() if count != 1 and job not in rerun_allowed}
        assert set(runs) == {str(job_id) for job_id in ids}, "a job's handler never ran"
        assert twice == {}, f"{len(twice)} handlers ran more than once, e.g. {list(twice.items())[:5]}"
