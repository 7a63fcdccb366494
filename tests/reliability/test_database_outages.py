"""PostgreSQL goes away while jobs flow: the workers hold their messages and finish every job once when it is back.

Each run stops the test's own PostgreSQL mid-flow, starts it again, and then checks that every job
finished exactly once (gapless history, one handler run), that no retry was spent on the outage, and
that the workers logged a bounded number of lines while the database was away. The time from the
database answering again to the first job finishing after it is printed (``-s`` shows it).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Literal

import pytest
from sqlalchemy import select

from engine.connections import LOCK_TIMEOUT_ENV
from tests.reliability.pipeline import Pipeline
from tests.services import PrivatePostgres, PrivateRedis
from tests.work.app.models import Job

#: Lines the workers (2 processes) may print during a quick outage: per process one "unreachable" line, one
#: "still unreachable" line per 30 s, one "back" line and one "sweeps skipped" line, with room to spare.
QUICK_LOG_LINES = 16
#: The same for a 90 s outage (three more "still unreachable" lines per process).
LONG_LOG_LINES = 24


def _rate(pipeline: Pipeline, seconds: float) -> float:
    """Jobs done per second over the next ``seconds``."""
    before = pipeline.done()
    time.sleep(seconds)
    return (pipeline.done() - before) / seconds


def _restored(pipeline: Pipeline, rate: float, *, since: float, timeout: float = 120) -> float:
    """Seconds from ``since`` until one second's throughput reaches 90 % of ``rate`` jobs per second."""
    deadline = time.monotonic() + timeout
    while _rate(pipeline, 1.0) < 0.9 * rate:
        assert time.monotonic() < deadline, f"throughput stayed under {0.9 * rate:.0f} jobs/s"
    return time.monotonic() - since


def _outage(
    pipeline: Pipeline,
    database: PrivatePostgres,
    *,
    jobs: int,
    down: float,
    mode: Literal["fast", "immediate"],
    measure_throughput: bool = False,
) -> tuple[list[int], int, float, float | None]:
    """Produce ``jobs``, stop the database once some are done, start it ``down`` seconds later, produce more.

    Returns the ids, the lines the workers printed while the database was away, the seconds from the
    database answering again to the next job done, and (``measure_throughput``: enough jobs must be left)
    to the throughput of before the outage.
    """
    finished_before = pipeline.done()
    ids = pipeline.produce(jobs, seconds=1, batches=5)
    pipeline.wait_until_done(finished_before + jobs // 10, timeout=120)
    rate = _rate(pipeline, 2.0) if measure_throughput else 0.0
    lines_before = pipeline.log_lines()
    database.stop(mode)
    time.sleep(down)
    database.start()
    back = time.monotonic()
    pipeline.app.engine.dispose()  # the test's own pooled connections died with the server
    done_at_restart = pipeline.done()
    if done_at_restart < finished_before + jobs:
        pipeline.wait_until_done(done_at_restart + 1, timeout=120)
    recovered = time.monotonic() - back
    restored = _restored(pipeline, rate, since=back) if measure_throughput else None
    lines = pipeline.log_lines() - lines_before
    ids += pipeline.produce(jobs // 2, seconds=1, batches=5)
    pipeline.wait_until_done(finished_before + len(ids), timeout=300)
    return ids, lines, recovered, restored


#: What Dramatiq prints when an actor raised, i.e. when a delivery failed and a retry was spent.
SPENT_A_RETRY = "Failed to process message"


def _check(pipeline: Pipeline, ids: list[int], lines: int, limit: int) -> None:
    sent_twice = sum(1 for sends in pipeline.sends().values() if sends > 1)
    print(f"outbox rows sent more than once: {sent_twice}")
    pipeline.assert_exactly_once(ids)
    assert lines <= limit, f"{lines} log lines while the database was away\n{pipeline.worker_logs()[-5000:]}"
    assert SPENT_A_RETRY not in pipeline.worker_logs()


def test_jobs_finish_once_through_a_short_database_stop(
    private_postgres: PrivatePostgres, private_redis: PrivateRedis, tmp_path: Path
) -> None:
    with Pipeline(private_postgres.url, private_redis.url, tmp_path, work_seconds=0.05) as pipeline:
        pipeline.start_worker()
        ids, lines, recovered, _ = _outage(pipeline, private_postgres, jobs=300, down=8, mode="fast")
        _check(pipeline, ids, lines, QUICK_LOG_LINES)
    print(f"8 s stop: first job done {recovered:.2f} s after the database was back; {lines} log lines")


def test_jobs_finish_once_through_a_database_fast_restart(
    private_postgres: PrivatePostgres, private_redis: PrivateRedis, tmp_path: Path
) -> None:
    with Pipeline(private_postgres.url, private_redis.url, tmp_path, work_seconds=0.02) as pipeline:
        pipeline.start_worker()
        ids: list[int] = []
        for _ in range(3):  # three immediate restarts (no checkpoint, crash recovery), each mid-flow
            more, lines, recovered, _ = _outage(pipeline, private_postgres, jobs=200, down=0, mode="immediate")
            ids += more
            print(f"fast restart: first job done {recovered:.2f} s after the database was back; {lines} log lines")
            _check(pipeline, ids, lines, QUICK_LOG_LINES)


@pytest.mark.slow
def test_jobs_finish_once_through_a_90_second_database_stop(
    private_postgres: PrivatePostgres, private_redis: PrivateRedis, tmp_path: Path
) -> None:
    with Pipeline(private_postgres.url, private_redis.url, tmp_path, work_seconds=0.05) as pipeline:
        pipeline.start_worker()
        ids, lines, recovered, restored = _outage(
            pipeline, private_postgres, jobs=2000, down=90, mode="fast", measure_throughput=True
        )
        _check(pipeline, ids, lines, LONG_LOG_LINES)
    print(
        f"90 s stop: first job done {recovered:.2f} s and 90 % of the throughput before it {restored:.2f} s after "
        f"the database was back; {lines} log lines"
    )


def test_rows_locked_by_another_transaction_hold_no_worker_thread_and_spend_no_retry(
    postgres_url: str, private_redis: PrivateRedis, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Four jobs' rows stay locked while two worker threads serve twenty other jobs; then all finish once."""
    monkeypatch.setenv(LOCK_TIMEOUT_ENV, "1s")
    with Pipeline(postgres_url, private_redis.url, tmp_path) as pipeline:
        locked = pipeline.produce(4, batches=1)
        with pipeline.app.engine.connect() as holder:
            holder.execute(select(Job.id).where(Job.id.in_(locked)).with_for_update())
            pipeline.start_worker(processes=1, threads=2)
            free = pipeline.produce(20, batches=2)
            pipeline.wait_until_done(len(free), timeout=120)
            with pipeline.app.engine.connect() as connection:
                waiting = connection.scalars(select(Job.status).where(Job.id.in_(locked))).all()
            assert {status.state for status in waiting} == {"queued"}
            holder.rollback()
        pipeline.wait_until_done(len(locked) + len(free), timeout=120)
        pipeline.assert_exactly_once(locked + free)
        assert SPENT_A_RETRY not in pipeline.worker_logs()


def test_a_worker_stopped_during_an_outage_exits_promptly_and_its_held_work_finishes_elsewhere(
    private_postgres: PrivatePostgres, private_redis: PrivateRedis, tmp_path: Path
) -> None:
    """SIGTERM while deliveries are held: the worker leaves them unacknowledged, and the broker hands them on."""
    broker_url = f"{private_redis.url}?heartbeat_timeout=5000&maintenance_chance=1000000"
    with Pipeline(private_postgres.url, broker_url, tmp_path, work_seconds=0.1) as pipeline:
        first = pipeline.start_worker(processes=1, threads=4)
        ids = pipeline.produce(60, batches=1)
        pipeline.wait_until_done(5, timeout=120)
        private_postgres.stop()
        deadline = time.monotonic() + 30
        while "database unreachable" not in pipeline.worker_logs():
            assert time.monotonic() < deadline, pipeline.worker_logs()
            time.sleep(0.1)
        asked = time.monotonic()
        first.terminate()  # SIGTERM to the worker process itself, as a service manager would
        first.wait(timeout=60)
        stopped = time.monotonic() - asked
        private_postgres.start()
        pipeline.app.engine.dispose()
        pipeline.start_worker(processes=1, threads=4)
        pipeline.wait_until_done(len(ids), timeout=180)
        # A held settle's handler runs again on the next worker, as after a crash: only the history must be exact.
        pipeline.assert_exactly_once(ids, rerun_allowed=frozenset(str(job_id) for job_id in ids))
    assert stopped < 20, f"the worker took {stopped:.1f} s to stop"
    print(f"stopped {stopped:.1f} s after SIGTERM during the outage")
