"""Sweeps move objects stuck past their timeout once, however many sweepers run; defibrillation restarts."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import insert, select, update

from engine import Statewright
from engine.cli import EXIT_OK, EXIT_USAGE, main
from engine.orm.tables import statuses
from engine.runtime.clock import now_of
from engine.runtime.sweeps import SweepResult, sweep_timeouts
from tests.conftest import run_python
from tests.work.app.models import Job
from tests.work.conftest import BROKER_URLS, MACHINES


@pytest.fixture
def broker_url() -> str:
    """This module's behaviour does not depend on the broker: the in-process one is enough."""
    return "memory://"


LATER = datetime.now(UTC) + timedelta(hours=2)


def _running_jobs(app: Statewright, count: int) -> list[int]:
    with app.sessionmaker() as session:
        jobs = [Job() for _ in range(count)]
        session.add_all(jobs)
        session.commit()
        for job in jobs:
            job.set_status("running")
        return [job.id for job in jobs]


def _moves(app: Statewright, job_id: int) -> list[str]:
    with app.sessionmaker() as session:
        return [change.transition for change in session.get_one(Job, job_id).history()]


def test_objects_past_their_timeout_move_to_its_target_once(app: Statewright) -> None:
    (job_id,) = _running_jobs(app, 1)
    flow = app.flows["job"]
    assert sweep_timeouts(flow, app.sessionmaker).moved == 0, "not stuck yet"
    assert sweep_timeouts(flow, app.sessionmaker, now=LATER).moved == 1
    assert sweep_timeouts(flow, app.sessionmaker, now=LATER).moved == 0
    assert _moves(app, job_id) == ["create", "start", "timeout"]
    with app.sessionmaker() as session:
        assert session.get_one(Job, job_id).status.state == "failed"


def _at_once(sweepers: int, sweep: Callable[[], SweepResult]) -> list[SweepResult]:
    """Run ``sweep`` in ``sweepers`` threads started together; their results."""
    barrier = threading.Barrier(sweepers)
    results: list[SweepResult] = []

    def sweeper() -> None:
        barrier.wait(timeout=10)
        results.append(sweep())

    threads = [threading.Thread(target=sweeper) for _ in range(sweepers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def test_concurrent_sweepers_move_each_object_once(app: Statewright) -> None:
    job_ids = _running_jobs(app, 20)
    flow = app.flows["job"]
    results = _at_once(3, lambda: sweep_timeouts(flow, app.sessionmaker, now=LATER))
    assert sum(result.moved for result in results) == 20
    assert all(_moves(app, job_id).count("timeout") == 1 for job_id in job_ids)


def _cli(app: Statewright, *args: str) -> tuple[int, str]:
    """Run a command on the app's database; work it sends goes to a Redis namespace of its own nobody reads."""
    url = app.engine.url.render_as_string(hide_password=False)
    broker = f"{BROKER_URLS['redis']}?namespace=sweeps-{uuid.uuid4().hex}"
    result = CliRunner().invoke(
        main, [*args, "--machines", str(MACHINES), "--database-url", url, "--broker-url", broker]
    )
    return result.exit_code, result.output


def test_defibrillate_restarts_failed_objects_and_dry_run_changes_nothing(app: Statewright) -> None:
    (job_id,) = _running_jobs(app, 1)
    with app.sessionmaker() as session:
        session.get_one(Job, job_id).set_status("failed")
    code, output = _cli(app, "defibrillate", "job", "--where", "status=failed", "--dry-run")
    assert code == EXIT_OK
    assert f"job {job_id}: failed -> queued (dry run)" in output
    assert _moves(app, job_id)[-1] == "fail"
    code, output = _cli(app, "defibrillate", "job")
    assert code == EXIT_OK
    assert "1 restarted" in output
    assert _moves(app, job_id)[-1] == "defibrillate"


def test_defibrillate_refuses_an_unknown_state_or_machine(app: Statewright) -> None:
    assert _cli(app, "defibrillate", "job", "--where", "status=nope")[0] == EXIT_USAGE
    assert _cli(app, "defibrillate", "nope")[0] == EXIT_USAGE


def test_the_sweep_command_reports_what_it_did(app: Statewright) -> None:
    _running_jobs(app, 2)
    code, output = _cli(app, "sweep")
    assert code == EXIT_OK
    assert "job: 0 moved past their timeout" in output
    assert "outbox:" in output


def _stuck_jobs(app: Statewright, count: int) -> list[int]:
    """``count`` jobs that entered ``running`` two hours ago by the database's clock (one statement each way)."""
    with app.sessionmaker() as session:
        jobs = [Job() for _ in range(count)]
        session.add_all(jobs)
        session.commit()
        ids = [job.id for job in jobs]
    with app.engine.begin() as connection:
        connection.execute(update(Job).where(Job.id.in_(ids)).values(status=Job.Status.RUNNING))
        two_hours_ago = now_of(connection) - timedelta(hours=2)
        connection.execute(
            update(statuses)
            .where(statuses.c.model_id.in_([str(job_id) for job_id in ids]))
            .values(created_at=two_hours_ago - timedelta(seconds=1))
        )
        connection.execute(
            insert(statuses),
            [
                {
                    "machine": "job",
                    "model_type": app.flows["job"].model_type,
                    "model_id": str(job_id),
                    "from_state": "queued",
                    "to_state": "running",
                    "transition": "start",
                    "created_at": two_hours_ago,
                }
                for job_id in ids
            ],
        )
    return ids


def _timeouts(app: Statewright) -> Counter[str]:
    with app.engine.connect() as connection:
        return Counter(connection.scalars(select(statuses.c.model_id).where(statuses.c.transition == "timeout")))


def test_one_sweep_moves_every_stuck_object_batch_after_batch(app: Statewright) -> None:
    ids = _stuck_jobs(app, 1234)
    result = sweep_timeouts(app.flows["job"], app.sessionmaker)
    assert (result.moved, result.skipped) == (1234, 0), "three batches of at most 500, in one run"
    assert _timeouts(app) == Counter({str(job_id): 1 for job_id in ids})


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_overlapping_sweeps_keep_their_locks_and_never_meet_on_an_object(app: Statewright) -> None:
    """Each batch holds its rows locked until it commits, so the other sweep skips them: no StaleStatus at all."""
    ids = _stuck_jobs(app, 1500)
    results = _at_once(2, lambda: sweep_timeouts(app.flows["job"], app.sessionmaker, batch=100))
    assert sum(result.moved for result in results) == 1500
    assert [result.skipped for result in results] == [0, 0], "no sweep tried an object the other held"
    assert all(result.moved > 0 for result in results), "both sweeps worked (they overlapped)"
    assert _timeouts(app) == Counter({str(job_id): 1 for job_id in ids})


#: Runs a ``statewright`` command with every ``datetime.now`` and ``time.time`` of the process shifted by argv[1] hours.
SKEWED_COMMAND = """
import sys, time, datetime as dt
offset = dt.timedelta(hours=float(sys.argv[1]))
class Skewed(dt.datetime):
    @classmethod
    def now(cls, tz=None):
        return super().now(tz) + offset
    @classmethod
    def utcnow(cls):
        return super().utcnow() + offset
real_time = time.time
time.time = lambda: real_time() + offset.total_seconds()
dt.datetime = Skewed
from engine.cli import main
main(sys.argv[2:])
"""


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("skew", [2, -2])
def test_a_sweeper_whose_clock_is_wrong_neither_fails_healthy_objects_nor_misses_stuck_ones(
    app: Statewright, skew: int
) -> None:
    """The sweeping process's clock is two hours ahead (or behind) the database's: the database decides."""
    healthy = _running_jobs(app, 20)
    stuck = _stuck_jobs(app, 20)
    url = app.engine.url.render_as_string(hide_password=False)
    done = run_python(
        "-c",
        SKEWED_COMMAND,
        str(skew),
        "sweep",
        "--no-outbox",
        "--machines",
        str(MACHINES),
        "--database-url",
        url,
        "--broker-url",
        "memory://",
    )
    assert done.returncode == EXIT_OK, done.stdout + done.stderr
    assert "job: 20 moved past their timeout" in done.stdout
    assert _timeouts(app) == Counter({str(job_id): 1 for job_id in stuck}), "healthy jobs stay running"
    assert all(_moves(app, job_id)[-1] == "start" for job_id in healthy)
    with app.engine.connect() as connection:
        written = connection.scalars(select(statuses.c.created_at).where(statuses.c.transition == "timeout")).all()
        now = now_of(connection)
    assert all(abs(now - moment) < timedelta(minutes=5) for moment in written), "the moves carry the database's time"
