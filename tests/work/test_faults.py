"""Faults with real processes and real brokers: nothing is lost, nothing is done twice."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from engine import Statewright
from engine.work.failures import RESENT, list_failures
from tests.services import PrivateRedis
from tests.work.app.models import Job
from tests.work.conftest import BROKER_URLS
from tests.work.processes import postgres_database_url, start_worker, stop_worker, wait_for  # noqa: F401 - fixture


def _start_worker(app: Statewright, broker_url: str, marker: Path, *extra: str) -> subprocess.Popen[str]:
    return start_worker(
        app,
        broker_url,
        *("--threads", "1", "--sweep-every", "1", *extra),
        env={"STATEWRIGHT_TEST_MARKER": str(marker)},
    )


def _wait_for_state(app: Statewright, job_id: int, state: str) -> None:
    def reached() -> bool:
        with app.sessionmaker() as session:
            return session.get_one(Job, job_id).status.state == state

    wait_for(reached, every=0.1)


#: RabbitMQ hands a dead consumer's unacknowledged messages to the next one at once; Redis after the dead
#: worker's heartbeat timeout, which this URL shortens (and makes every fetch look for dead workers).
KILLABLE_BROKER_URLS = {
    "rabbitmq": BROKER_URLS["rabbitmq"],
    "redis": f"{BROKER_URLS['redis']}?heartbeat_timeout=2000&maintenance_chance=1000000",
}


class TestWorkerKilledMidTask:
    @pytest.fixture(params=sorted(KILLABLE_BROKER_URLS))
    def broker_url(self, request: pytest.FixtureRequest) -> str:
        return KILLABLE_BROKER_URLS[request.param]

    def test_the_message_is_redelivered_and_the_object_completes_once(
        self, app: Statewright, broker_url: str, tmp_path: Path
    ) -> None:
        marker = tmp_path / "runs"
        first = _start_worker(app, broker_url, marker)
        with app.sessionmaker() as session:
            job = Job(behaviour="slow")
            session.add(job)
            session.commit()
            job_id = job.id
        wait_for(lambda: marker.exists() and marker.read_text().strip() == str(job_id))
        os.killpg(first.pid, signal.SIGKILL)  # mid-task: after the claim, before `complete`
        first.communicate(timeout=30)
        with app.sessionmaker() as session:
            assert session.get_one(Job, job_id).status.state == "running"
        second = _start_worker(app, broker_url, marker)
        try:
            _wait_for_state(app, job_id, "done")
        finally:
            output = stop_worker(second)
        assert "Traceback" not in output, output
        with app.sessionmaker() as session:
            moves = [(c.from_state, c.to_state) for c in session.get_one(Job, job_id).history()]
        assert moves == [(None, "queued"), ("queued", "running"), ("running", "done")]
        assert marker.read_text().split() == [str(job_id), str(job_id)], "the handler ran again after the kill"


class TestBrokerDownDuringATransition:
    @pytest.fixture
    def broker_url(self, private_redis: PrivateRedis) -> str:
        """A Redis server of this test's own, so it can be stopped without disturbing anything else."""
        return private_redis.url

    def test_the_outbox_keeps_the_message_and_the_sweeper_delivers_it(
        self, app: Statewright, broker_url: str, private_redis: PrivateRedis, tmp_path: Path
    ) -> None:
        private_redis.stop()
        with app.sessionmaker() as session:
            job = Job(behaviour="ok")
            session.add(job)
            session.commit()  # the relay cannot reach the broker: the row stays in the outbox
            job_id = job.id
        private_redis.start()
        worker = _start_worker(app, broker_url, tmp_path / "runs")  # its sweeper sends the row
        try:
            _wait_for_state(app, job_id, "done")
        finally:
            stop_worker(worker)
        with app.sessionmaker() as session:
            assert [c.to_state for c in session.get_one(Job, job_id).history()] == ["queued", "running", "done"]


class TestRedisWithoutPersistenceRestarts:
    @pytest.fixture
    def broker_url(self, private_redis: PrivateRedis) -> str:
        """A Redis server of this test's own, without persistence, so a restart loses every queued message."""
        return private_redis.url

    @staticmethod
    def _queued(server: PrivateRedis) -> int:
        import redis

        client = redis.Redis(port=server.port)
        return sum(int(client.hlen(key)) for key in client.keys("dramatiq:*.msgs"))

    def test_messages_lost_in_a_restart_are_resent_and_every_object_finishes_once(
        self, app: Statewright, broker_url: str, private_redis: PrivateRedis, tmp_path: Path
    ) -> None:
        with app.sessionmaker() as session:
            jobs = [Job(behaviour="ok") for _ in range(20)]
            session.add_all(jobs)
            session.commit()
            ids = [job.id for job in jobs]
        assert self._queued(private_redis) == 20, "every message waits in Redis; every outbox row says sent"
        private_redis.kill()  # SIGKILL: no persistence, so the queue is gone
        private_redis.start()
        assert self._queued(private_redis) == 0
        worker = _start_worker(app, broker_url, tmp_path / "runs", "--resend-after", "1s")
        try:
            for job_id in ids:
                _wait_for_state(app, job_id, "done")
        finally:
            output = stop_worker(worker)
        assert "Traceback" not in output, output
        with app.sessionmaker() as session:
            for job_id in ids:
                moves = [(c.from_state, c.to_state) for c in session.get_one(Job, job_id).history()]
                assert moves == [(None, "queued"), ("queued", "running"), ("running", "done")]
        notes = list_failures(app.engine)
        # With a 1 s grace, an object still waiting for the single worker thread may be resent more than once.
        assert {int(note.model_id or 0) for note in notes} == set(ids)
        assert all(note.status == RESENT and note.attempts >= 2 for note in notes)
