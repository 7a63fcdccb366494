"""Relay and sweep lock the outbox rows they send: a fault-free run sends every row once, even with a 1 s sweep."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability.pipeline import Pipeline
from tests.services import PrivateRedis


def _run(postgres_url: str, broker_url: str, folder: Path, objects: int, seconds: float) -> None:
    with Pipeline(postgres_url, broker_url, folder) as pipeline:
        pipeline.start_worker(sweep_every="1")
        ids = pipeline.produce(objects, seconds=seconds, batches=objects // 10)
        pipeline.wait_until_done(len(ids), timeout=300)
        pipeline.assert_exactly_once(ids)
        sends = pipeline.sends()
        twice = {row: count for row, count in sends.items() if count != 1}
        assert len(sends) == len(ids)
        assert twice == {}, f"{len(twice)} of {len(sends)} task rows sent more than once"


def test_a_fault_free_run_with_a_one_second_sweep_sends_no_row_twice(
    postgres_url: str, private_redis: PrivateRedis, tmp_path: Path
) -> None:
    _run(postgres_url, private_redis.url, tmp_path, 500, 5)


@pytest.mark.slow
def test_two_thousand_objects_with_a_one_second_sweep_are_each_sent_once(
    postgres_url: str, private_redis: PrivateRedis, tmp_path: Path
) -> None:
    _run(postgres_url, private_redis.url, tmp_path, 2000, 20)
