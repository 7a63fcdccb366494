"""Leases under real workers: a handler longer than its lease keeps it, a dead worker's claims are taken over.

Workers run with a short lease (``STATEWRIGHT_LEASE``) so that expiry happens within the test; Redis is told
not to redeliver a dead worker's messages for ten minutes, so only the sweep's resends can finish its jobs:
those it held in ``running`` once their leases expired, those it had fetched but not claimed (still
``queued``) after ``--resend-after``.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from engine.work.failures import RESENT, list_failures
from tests.reliability.pipeline import Pipeline
from tests.services import PrivateRedis

#: Redis keeps a dead worker's unacknowledged messages for ten minutes: longer than any of these tests.
NO_REDELIVERY = "?heartbeat_timeout=600000"


def _taken_over(postgres_url: str, redis: PrivateRedis, folder: Path, objects: int, work_seconds: float) -> float:
    """SIGKILL a worker mid-handler; returns the seconds until every job it held is done (by another worker)."""
    with Pipeline(postgres_url, redis.url + NO_REDELIVERY, folder, work_seconds=work_seconds) as pipeline:
        lease = {"STATEWRIGHT_LEASE": "6s"}
        # Resends of queued work the dead worker had fetched: after 10 s, or a minute when a backlog waits longer.
        resend = ("--resend-after", "10s" if objects < 100 else "60s")
        doomed = pipeline.start_worker(*resend, env=lease)
        ids = pipeline.produce(objects, batches=4)
        while len(pipeline.ids_in("running")) < 8:
            time.sleep(0.05)
        pipeline.kill_worker(doomed)
        killed = time.monotonic()
        held = pipeline.ids_in("running")
        pipeline.start_worker(*resend, env=lease)
        while pipeline.ids_in("running") & held:
            assert time.monotonic() - killed < 120, f"still running: {sorted(pipeline.ids_in('running') & held)}"
            time.sleep(0.1)
        recovered = time.monotonic() - killed
        pipeline.wait_until_done(len(ids), timeout=120 + objects * work_seconds)
        pipeline.assert_exactly_once(ids, rerun_allowed=held)
        notes = list_failures(pipeline.app.engine, statuses=(RESENT,), limit=10 * objects)
        stranded = {note.model_id for note in notes if "was still in 'running' and its lease expired" in note.line()}
        assert stranded == held, "each job the dead worker held was resent once, and no other running job"
        print(f"{len(held)} jobs held by a killed worker were done {recovered:.1f} s after the kill (lease 6 s)")
        return recovered


def test_the_claims_of_a_worker_killed_mid_handler_are_taken_over_once_their_lease_expired(
    postgres_url: str, private_redis: PrivateRedis, tmp_path: Path
) -> None:
    assert _taken_over(postgres_url, private_redis, tmp_path, 40, 1.0) < 60


@pytest.mark.slow
def test_a_worker_killed_with_two_thousand_jobs_queued_loses_none(
    postgres_url: str, private_redis: PrivateRedis, tmp_path: Path
) -> None:
    _taken_over(postgres_url, private_redis, tmp_path, 2000, 0.1)


def test_a_handler_that_outlives_its_lease_keeps_it_by_the_heartbeat(
    postgres_url: str, private_redis: PrivateRedis, tmp_path: Path
) -> None:
    """Four-second handlers under a three-second lease, swept every second: none is resent or run twice."""
    with Pipeline(postgres_url, private_redis.url, tmp_path, work_seconds=4.0) as pipeline:
        pipeline.start_worker("--resend-after", "10m", env={"STATEWRIGHT_LEASE": "3s"})
        ids = pipeline.produce(16, batches=1)
        pipeline.wait_until_done(len(ids), timeout=120)
        pipeline.assert_exactly_once(ids)
        assert list_failures(pipeline.app.engine) == []
        assert set(pipeline.sends().values()) == {1}
