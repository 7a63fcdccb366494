"""Objects through the whole pipeline while workers are SIGKILLed at random and the broker restarts.

Every object must end ``done`` exactly once with a gapless history. The number of objects is
``$STATEWRIGHT_RELIABILITY_OBJECTS`` (1000 in the normal run; the README reports a run of 10,000).
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reliability.pipeline import Pipeline
from tests.services import PrivateRedis

OBJECTS = int(os.environ.get("STATEWRIGHT_RELIABILITY_OBJECTS", "1000"))
KILLS = 5
#: Objects are created in this many commits, spread over about as long as the kills take, so that
#: creation, work, kills and the broker restart overlap.
BATCHES = 40
PRODUCING_SECONDS = 10


@pytest.fixture
def redis() -> Iterator[PrivateRedis]:
    """A redis-server of this test's own that keeps every write on disk, so a restart keeps the queues."""
    with PrivateRedis(persistence="append-only") as server:
        yield server


def test_every_object_finishes_exactly_once_through_kills_and_a_broker_restart(
    postgres_url: str, redis: PrivateRedis, tmp_path: Path
) -> None:
    broker_url = f"{redis.url}?heartbeat_timeout=2000&maintenance_chance=1000000"
    chance = random.Random(20261123)
    with Pipeline(postgres_url, broker_url, tmp_path) as pipeline:
        worker = [pipeline.start_worker(sweep_every="2")]
        kills = restarts = 0

        def chaos() -> None:
            nonlocal kills, restarts
            for n in range(KILLS):
                time.sleep(chance.uniform(1.0, 2.5))
                pipeline.kill_worker(worker[0])
                kills += 1
                if n == KILLS // 2:
                    redis.stop()  # SIGTERM: Redis flushes its append-only file and exits
                    time.sleep(1.0)  # the producer's relay meets a dead broker meanwhile: rows stay in the outbox
                    redis.start()
                    restarts += 1
                worker[0] = pipeline.start_worker(sweep_every="2")

        agent = threading.Thread(target=chaos)
        agent.start()
        try:
            ids = pipeline.produce(OBJECTS, seconds=PRODUCING_SECONDS, batches=BATCHES)
        finally:
            agent.join(timeout=120)
        assert (kills, restarts) == (KILLS, 1)
        pipeline.wait_until_done(OBJECTS, timeout=max(300, OBJECTS / 10))
        # A killed worker may have been inside a handler: those run again, so only histories are exact here.
        runs = pipeline.handler_runs()
        pipeline.assert_exactly_once(ids, rerun_allowed=frozenset(runs))
