"""``statewright touch MACHINE --where …``: re-enter touchable states from the command line."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from click.testing import Result
from sqlalchemy import create_engine, select

from engine.cli.exits import EXIT_OK, EXIT_USAGE
from engine.orm.tables import outbox, statuses
from tests.acceptance.lines import assert_one_line, invoke
from tests.work.touching.app import MACHINES, new_parcel, parcel_app

#: The Redis database these tests send to (the brief's own; never flushed as a whole).
REDIS = os.environ.get("STATEWRIGHT_TEST_REDIS", "redis://127.0.0.1:6379/15")


@pytest.fixture
def parcels(tmp_path: Path) -> Iterator[tuple[str, list[int]]]:
    """A SQLite database with two parcels in `packing`, one in `waiting` and one in `labelled`."""
    url = f"sqlite:///{tmp_path / 'parcels.db'}"
    app = parcel_app(url)
    ids = [new_parcel(app) for _ in range(4)]
    with app.sessionmaker() as session:
        app.fire(session.get_one(app.flows["parcel"].mapper.class_, ids[2]), "packed")
        labelled = session.get_one(app.flows["parcel"].mapper.class_, ids[3])
        labelled.fire("packed")
        labelled.fire("label")
    app.close()
    yield url, ids
    # What the touches sent waits in this run's own Redis database; nothing will run it.
    client = redis.Redis.from_url(REDIS)
    for key in client.scan_iter("dramatiq:statewright*"):
        client.delete(key)
    client.close()


def _touches(url: str) -> list[tuple[str, str | None]]:
    engine = create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(
            select(statuses.c.model_id, statuses.c.actor)
            .where(statuses.c.transition == "touch")
            .order_by(statuses.c.id)
        ).all()
        unsent = connection.execute(select(outbox.c.id).where(outbox.c.sent_at.is_(None))).all()
    engine.dispose()
    assert unsent == []  # the touches' work went to the broker
    return [tuple(row) for row in rows]


def _run(url: str, *args: str) -> Result:
    return invoke("touch", "parcel", "--machines", str(MACHINES), "--database-url", url, *args)


def test_touch_re_enters_every_touchable_state_and_sends_the_work(parcels: tuple[str, list[int]]) -> None:
    url, ids = parcels
    result = _run(url, "--broker-url", REDIS)
    assert result.exit_code == EXIT_OK
    assert "3 touched" in result.output
    assert _touches(url) == [(str(i), "statewright touch") for i in ids[:3]]


def test_touch_where_picks_one_state(parcels: tuple[str, list[int]]) -> None:
    url, ids = parcels
    result = _run(url, "--where", "status=waiting", "--broker-url", REDIS)
    assert "1 touched" in result.output
    assert _touches(url) == [(str(ids[2]), "statewright touch")]


def test_touch_dry_run_lists_and_changes_nothing(parcels: tuple[str, list[int]]) -> None:
    url, ids = parcels
    result = _run(url, "--dry-run")
    assert result.exit_code == EXIT_OK
    assert f"parcel {ids[0]}: packing (dry run)" in result.output
    assert _touches(url) == []


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--where", "status=labelled", "--dry-run"], ("statewright touch: --where", "packing, waiting")),
        (["--broker-url", "memory://"], ("memory:// lives inside one process",)),
    ],
    ids=["not-touchable", "in-process-broker"],
)
def test_touch_refusals_are_one_line(
    parcels: tuple[str, list[int]], args: list[str], fragments: tuple[str, ...]
) -> None:
    url, _ = parcels
    assert_one_line(_run(url, *args), EXIT_USAGE, *fragments)
    assert _touches(url) == []
