"""The baseline of the end-to-end benchmark: a raw Dramatiq actor making the same database writes.

Per object, like Statewright: one transaction moves it queued -> running (compare-and-set) and records
history; the handler's write and the move running -> done with its history row commit together.
Started by ``dramatiq tests.benchmarks.raw_dramatiq_app``; configured by environment variables.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

import dramatiq
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker
from sqlalchemy import create_engine, insert, update

from engine.orm.tables import statuses
from tests.benchmarks.bench_app.models import Item

_URL = os.environ["BENCH_BROKER_URL"]
if _URL.startswith("amqp"):
    dramatiq.set_broker(RabbitmqBroker(url=_URL))
else:
    dramatiq.set_broker(RedisBroker(url=_URL))  # type: ignore[no-untyped-call]
ENGINE = create_engine(os.environ["BENCH_DATABASE_URL"], pool_size=10)
TABLE = Item.__table__


def _move(connection: object, item_id: int, source: str, target: str, transition: str) -> None:
    moved = connection.execute(
        update(TABLE)
        .where(TABLE.c.id == item_id, TABLE.c.status == source)  # type: ignore[attr-defined]
        .values(status=target)
    ).rowcount
    if moved != 1:
        raise RuntimeError(f"item {item_id} was not {source}")
    connection.execute(
        insert(statuses),
        {  # type: ignore[attr-defined]
            "machine": "item",
            "model_type": "raw",
            "model_id": str(item_id),
            "from_state": source,
            "to_state": target,
            "transition": transition,
            "payload": None,
            "context": None,
            "exception_type": None,
            "exception_message": None,
            "exception_traceback": None,
            "actor": None,
            "created_at": datetime.now(UTC),
        },
    )


@dramatiq.actor(queue_name="raw_bench", max_retries=0)
def raw_work(item_id: int) -> None:
    """Claim, work, complete."""
    with ENGINE.begin() as connection:
        _move(connection, item_id, "queued", "running", "start")
    with ENGINE.begin() as connection:
        connection.execute(update(TABLE).where(TABLE.c.id == item_id).values(result="worked"))
        _move(connection, item_id, "running", "done", "finish")
