"""Stranded work is found and resent: a Redis that loses every message, a producer killed right after its commit.

Each run ends with every job ``done`` once, a gapless history, and the handler run once per job except jobs
whose worker died mid-handler. Workers run with a short lease (``STATEWRIGHT_LEASE``) and resend grace, so
the quick variants finish in well under a minute; the slow ones move 2,000 jobs.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.reliability.pipeline import Pipeline
from tests.services import PrivateRedis

#: Worker settings of these tests: a 6 s lease (renewed every 2 s), resends of waiting work after 5 s.
LEASE = {"STATEWRIGHT_LEASE": "6s"}
RESEND = ("--resend-after", "5s")


def _redis_killed(postgres_url: str, redis: PrivateRedis, folder: Path, objects: int) -> float:
    """Kill Redis (no persistence) and one of two workers with it mid-flow; returns the seconds to recover."""
    with Pipeline(postgres_url, redis.url, folder, work_seconds=0.2) as pipeline:
        pipeline.start_worker(*RESEND, env=LEASE)
        doomed = pipeline.start_worker(*RESEND, env=LEASE)
        ids = pipeline.produce(objects, batches=10)
        while pipeline.done() < objects // 4:
            time.sleep(0.05)
        redis.kill()  # every queued, delayed and unacknowledged message is gone
        pipeline.kill_worker(doomed)  # its handlers stop mid-run: their objects stay `running`
        rerun_allowed = pipeline.ids_in("running")
        waiting = len(pipeline.ids_in("queued"))
        time.sleep(1)
        redis.start()
        back = time.monotonic()
        pipeline.start_worker(*RESEND, env=LEASE)
        took = pipeline.wait_until_done(len(ids), timeout=max(120, objects / 5))
        pipeline.assert_exactly_once(ids, rerun_allowed=rerun_allowed)
        print(
            f"redis killed with {len(rerun_allowed)} running and {waiting} queued: all {len(ids)} done "
            f"{time.monotonic() - back:.1f} s after it came back"
        )
        return took


def test_a_redis_killed_mid_flow_without_persistence_loses_no_job(
    postgres_url: str, private_redis: PrivateRedis, tmp_path: Path
) -> None:
    assert _redis_killed(postgres_url, private_redis, tmp_path, 300) < 60


@pytest.mark.slow
def test_two_thousand_jobs_survive_a_redis_killed_mid_flow(
    postgres_url: str, private_redis: PrivateRedis, tmp_path: Path
) -> None:
    _redis_killed(postgres_url, private_redis, tmp_path, 2000)


def _producer_killed(postgres_url: str, redis: PrivateRedis, folder: Path, objects: int) -> None:
    with Pipeline(postgres_url, redis.url, folder) as pipeline:
        # No resends of queued work (a backlog of 2,000 waits longer than 5 s): only the outbox sweep sends here.
        pipeline.start_worker("--resend-after", "10m", env=LEASE)
        ids = pipeline.produce_and_die(objects, batches=10, die_after=6)
        assert len(ids) == objects * 6 // 10
        pipeline.wait_until_done(len(ids), timeout=max(120, objects / 5))
        pipeline.assert_exactly_once(ids)
        assert set(pipeline.sends().values()) == {1}, "each row sent once: by the relay, or by the sweep"


def test_the_work_of_a_producer_killed_right_after_its_commit_is_sent_by_the_sweep(
    postgres_url: str, private_redis: PrivateRedis, tmp_path: Path
) -> None:
    _producer_killed(postgres_url, private_redis, tmp_path, 300)


@pytest.mark.slow
def test_two_thousand_jobs_of_a_producer_killed_after_its_commit_each_finish_once(
    postgres_url: str, private_redis: PrivateRedis, tmp_path: Path
) -> None:
    _producer_killed(postgres_url, private_redis, tmp_path, 2000)
