"""Sweeps move objects stuck past their timeout once, however many sweepers run; defibrillation restarts."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from engine import Statewright
from engine.cli import EXIT_OK, EXIT_USAGE, main
from engine.runtime.sweeps import sweep_timeouts
from tests.work.app.models import Job
from tests.work.conftest import BROKER_URLS, MACHINES


@pytest.fixture
def broker_url() -> str:
    """This module's behaviour does not depend on the broker: the in-process one is enough."""
    return "memory://"


LATER = datetime.now(UTC) + timedelta(hours=2)


def _running_jobs(app: Statewright, count: int) -> list[int]:
    with app.session() as session:
        jobs = [Job() for _ in range(count)]
        session.add_all(jobs)
        session.commit()
        for job in jobs:
            job.set_status("running")
        return [job.id for job in jobs]


def _moves(app: Statewright, job_id: int) -> list[str]:
    with app.session() as session:
        return [change.transition for change in session.get_one(Job, job_id).history()]


def test_objects_past_their_timeout_move_to_its_target_once(app: Statewright) -> None:
    (job_id,) = _running_jobs(app, 1)
    flow = app.flows["job"]
    assert sweep_timeouts(flow, app.session).moved == 0, "not stuck yet"
    assert sweep_timeouts(flow, app.session, now=LATER).moved == 1
    assert sweep_timeouts(flow, app.session, now=LATER).moved == 0
    assert _moves(app, job_id) == ["create", "start", "timeout"]
    with app.session() as session:
        assert session.get_one(Job, job_id).status.state == "failed"


def test_concurrent_sweepers_move_each_object_once(app: Statewright) -> None:
    job_ids = _running_jobs(app, 20)
    flow = app.flows["job"]
    results = []
    barrier = threading.Barrier(3)

    def sweeper() -> None:
        barrier.wait(timeout=10)
        results.append(sweep_timeouts(flow, app.session, now=LATER))

    threads = [threading.Thread(target=sweeper) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sum(result.moved for result in results) == 20
    assert all(_moves(app, job_id).count("timeout") == 1 for job_id in job_ids)


def _cli(app: Statewright, *args: str) -> tuple[int, str]:
    """Run a command on the app's database; work it sends goes to a Redis namespace of its own nobody reads."""
    url = app.engine.url.render_as_string(hide_password=False)
    broker = f"{BROKER_URLS['redis']}?namespace=sweeps-{uuid.uuid4().hex}"
    result = CliRunner().invoke(main, [*args, "--machines", str(MACHINES), "--database-url", url, "--broker-url",
                                       broker])
    return result.exit_code, result.output


def test_defibrillate_restarts_failed_objects_and_dry_run_changes_nothing(app: Statewright) -> None:
    (job_id,) = _running_jobs(app, 1)
    with app.session() as session:
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
