"""Objects through the whole pipeline while workers are SIGKILLed at random and the broker restarts.

Every object must end ``done`` exactly once with a gapless history. The number of objects is
``$STATEWRIGHT_RELIABILITY_OBJECTS`` (1000 in the normal run; the README reports a run of 10,000).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from engine import Statewright
from engine.migrations.upgrade import upgrade
from engine.orm.tables import statuses
from tests.conftest import ROOT
from tests.services import PrivateRedis
from tests.work.app.models import Job, JobBase
from tests.work.conftest import MACHINES

OBJECTS = int(os.environ.get("STATEWRIGHT_RELIABILITY_OBJECTS", "1000"))
KILLS = 5
#: Objects are created in this many commits, spread over about as long as the kills take, so that
#: creation, work, kills and the broker restart overlap.
BATCHES = 40
PRODUCING_SECONDS = 10
EXPECTED = [(None, "queued"), ("queued", "running"), ("running", "done")]

#: The machines include an endpoint with a path URL; the worker needs a base URL, though no call is made here.
NO_CALLS = "http://127.0.0.1:9"


@pytest.fixture
def redis() -> Iterator[PrivateRedis]:
    """A redis-server of this test's own that keeps every write on disk, so a restart keeps the queues."""
    with PrivateRedis(persistence="append-only") as server:
        yield server


def _worker(database_url: str, broker_url: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(Path(sys.executable).parent / "statewright"), "worker", "--machines", str(MACHINES), "--database-url",
         database_url, "--broker-url", broker_url, "--processes", "2", "--threads", "4", "--sweep-every", "2",
         "--http-base-url", NO_CALLS],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True)


def _done(app: Statewright) -> int:
    with app.engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(Job).where(Job.status == Job.Status.DONE)) or 0


def test_every_object_finishes_exactly_once_through_kills_and_a_broker_restart(postgres_url: str,
                                                                               redis: PrivateRedis) -> None:
    broker_url = f"{redis.url}?heartbeat_timeout=2000&maintenance_chance=1000000"
    app = Statewright.from_path(MACHINES, database_url=postgres_url, broker_url=broker_url)
    with app.engine.begin() as connection:
        for table in ("statewright_failures", "statewright_outbox", "statuses", "statewright_alembic_version",
                      "jobs", "calls", "shipments"):
            connection.execute(text(f"DROP TABLE IF EXISTS {table}"))
    upgrade(app.engine)
    JobBase.metadata.create_all(app.engine)
    chance = random.Random(20261123)
    worker = [_worker(postgres_url, broker_url)]
    kills = restarts = 0

    def chaos() -> None:
        nonlocal kills, restarts
        for n in range(KILLS):
            time.sleep(chance.uniform(1.0, 2.5))
            os.killpg(worker[0].pid, signal.SIGKILL)
            worker[0].wait(timeout=30)
            kills += 1
            if n == KILLS // 2:
                redis.stop()  # SIGTERM: Redis flushes its append-only file and exits
                time.sleep(1.0)  # the producer's relay meets a dead broker meanwhile: rows stay in the outbox
                redis.start()
                restarts += 1
            worker[0] = _worker(postgres_url, broker_url)

    agent = threading.Thread(target=chaos)
    agent.start()
    try:
        for batch in range(BATCHES):
            with app.session() as session:
                count = OBJECTS // BATCHES + (1 if batch < OBJECTS % BATCHES else 0)
                session.add_all([Job(behaviour="ok") for _ in range(count)])
                session.commit()
            time.sleep(PRODUCING_SECONDS / BATCHES)
        agent.join(timeout=120)
        assert (kills, restarts) == (KILLS, 1)
        deadline = time.monotonic() + max(300, OBJECTS / 10)
        while _done(app) < OBJECTS and time.monotonic() < deadline:
            time.sleep(0.5)
        assert _done(app) == OBJECTS
        with app.engine.connect() as connection:
            rows = connection.execute(select(statuses.c.model_id, statuses.c.from_state, statuses.c.to_state)
                                      .where(statuses.c.machine == "job").order_by(statuses.c.id)).all()
        histories: dict[str, list[tuple[str | None, str]]] = {}
        for model_id, source, target in rows:
            histories.setdefault(model_id, []).append((source, target))
        assert len(histories) == OBJECTS
        wrong = {model_id: moves for model_id, moves in histories.items() if moves != EXPECTED}
        assert wrong == {}, f"{len(wrong)} objects with a history other than create, start, finish"
    finally:
        agent.join(timeout=120)
        os.killpg(worker[0].pid, signal.SIGTERM)
        worker[0].wait(timeout=60)
        app.close()
