"""Expired delivery rows are deleted in batches; unexpired ones stay. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select

from engine import Statewright
from engine.callbacks.pruning import prune_deliveries
from engine.errors import ConfigurationError
from engine.orm.tables import callback_deliveries
from tests.callbacks.models import Base
from tests.callbacks.serving import SECRETS, build_payments_app

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def app(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Statewright]:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    app = build_payments_app(database_url)
    try:
        yield app
    finally:
        Base.metadata.drop_all(app.engine)
        app.close()


def remember(app: Statewright, count: int, *, expires_at: datetime, prefix: str) -> None:
    rows = [
        {
            "machine": "payment",
            "callback": "stripe-settled",
            "model_id": str(number),
            "delivery": f"id:{prefix}{number}",
            "received_at": expires_at - timedelta(days=1),
            "expires_at": expires_at,
        }
        for number in range(count)
    ]
    with app.engine.begin() as connection:
        connection.execute(insert(callback_deliveries), rows)


def test_expired_rows_are_deleted_in_batches_and_the_rest_stay(app: Statewright) -> None:
    remember(app, 25, expires_at=NOW - timedelta(seconds=1), prefix="old")
    remember(app, 3, expires_at=NOW + timedelta(hours=1), prefix="new")
    assert prune_deliveries(app.sessionmaker, batch=10, now=NOW) == 25
    with app.engine.connect() as connection:
        left = connection.scalars(select(callback_deliveries.c.delivery).order_by(callback_deliveries.c.delivery))
        assert list(left) == ["id:new0", "id:new1", "id:new2"]
    assert prune_deliveries(app.sessionmaker, batch=10, now=NOW) == 0


def test_a_batch_under_one_is_refused(app: Statewright) -> None:
    with pytest.raises(ConfigurationError, match="batch"):
        prune_deliveries(app.sessionmaker, batch=0)
