"""The fault harness itself, fault-free: a worker finishes produced jobs once each."""

from __future__ import annotations

from pathlib import Path

from tests.reliability.pipeline import Pipeline
from tests.services import PrivateRedis


def test_a_fault_free_run_finishes_every_job_once(
    postgres_url: str, private_redis: PrivateRedis, tmp_path: Path
) -> None:
    with Pipeline(postgres_url, private_redis.url, tmp_path) as pipeline:
        pipeline.start_worker()
        ids = pipeline.produce(200, seconds=1)
        pipeline.wait_until_done(len(ids), timeout=120)
        pipeline.assert_exactly_once(ids)
