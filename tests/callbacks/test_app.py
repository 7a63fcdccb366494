"""Callbacks through a real uvicorn server on loopback, on SQLite and PostgreSQL.

Every refused delivery is checked to have written nothing: no history row, no delivery row.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from engine import Statewright
from engine.errors import ConfigurationError
from engine.orm.tables import callback_deliveries, statuses
from engine.runtime.hooks import Hook
from tests.callbacks.models import Base, Payment
from tests.callbacks.serving import (
    SECRETS,
    awaiting_payment,
    build_payments_app,
    counts,
    run_server,
    signer,
    status_of,
)


@dataclass
class Served:
    app: Statewright
    url: str
    client: httpx.Client

    def settled(
        self, payment_id: int, charge: dict[str, object], *, event: str = "evt_1", **sign: object
    ) -> httpx.Response:
        body = json.dumps(charge).encode()
        headers = {**signer("settled").sign(body, **sign), "Stripe-Event-Id": event}  # type: ignore[arg-type]
        headers["Content-Type"] = "application/json"
        return self.client.post(
            f"{self.url}/callbacks/payment/stripe-settled/{payment_id}", content=body, headers=headers
        )


@pytest.fixture
def served(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    app = build_payments_app(database_url)
    try:
        with run_server(app.callbacks_asgi()) as url, httpx.Client(timeout=30) as client:
            yield Served(app, url, client)
    finally:
        Base.metadata.drop_all(app.engine)
        app.close()


def history(app: Statewright, payment_id: int) -> list[dict[str, object]]:
    with app.engine.connect() as connection:
        rows = connection.execute(
            select(statuses).where(statuses.c.model_id == str(payment_id)).order_by(statuses.c.id)
        ).mappings()
        return [dict(row) for row in rows]


def test_a_validly_signed_delivery_moves_the_object_once_and_records_the_request(served: Served) -> None:
    payment = awaiting_payment(served.app)
    before, _ = counts(served.app, payment)
    answer = served.settled(payment, {"id": "ch_1", "card": "4242424242424242"})
    assert (answer.status_code, answer.json()) == (200, {"result": "moved"})
    assert status_of(served.app, payment) == "paid"
    assert counts(served.app, payment) == (before + 1, 1)
    row = history(served.app, payment)[-1]
    assert (row["from_state"], row["to_state"], row["transition"], row["actor"]) == (
        "awaiting", "paid", "settle", "callback:settled"
    )  # fmt: skip
    assert row["context"] == {"charge": "ch_1"}
    payload = row["payload"]
    assert isinstance(payload, dict)
    assert (payload["method"], payload["path"]) == ("POST", f"/callbacks/payment/stripe-settled/{payment}")
    assert payload["body"]["id"] == "ch_1"
    assert "4242" not in json.dumps(payload)  # `redact: [card]`
    assert "v1=" not in json.dumps(payload)  # the signature header is masked too
    assert payload["headers"]["stripe-event-id"] == "evt_1"


def test_a_handler_that_raises_takes_the_error_step_with_the_reason(served: Served) -> None:
    payment = awaiting_payment(served.app)
    answer = served.settled(payment, {"id": "ch_2", "outcome": "declined", "reason": "insufficient funds"})
    assert answer.status_code == 200
    assert status_of(served.app, payment) == "failed"
    row = history(served.app, payment)[-1]
    assert row["transition"] == "decline"
    assert str(row["exception_type"]).endswith("ProviderDeclined")
    assert row["exception_message"] == "insufficient funds"


def test_a_github_style_delivery_moves_the_object(served: Served) -> None:
    payment = awaiting_payment(served.app)
    body = b'{"action": "completed"}'
    answer = served.client.post(
        f"{served.url}/callbacks/payment/pushed/{payment}", content=body, headers=signer("pushed").sign(body)
    )
    assert answer.status_code == 200
    assert status_of(served.app, payment) == "paid"


def _refusals(served: Served, payment: int) -> dict[str, httpx.Response]:
    url = f"{served.url}/callbacks/payment/stripe-settled/{payment}"
    body = b'{"id": "ch_3"}'
    good = signer("settled").sign(body)
    wrong_secret = signer("settled", "whsec_someone_else").sign(body)
    stale = signer("settled").sign(body, timestamp=int(time.time()) - 301)
    post = served.client.post
    return {
        "tampered body": post(url, content=b'{"id": "ch_4"}', headers=good),
        "wrong secret": post(url, content=body, headers=wrong_secret),
        "stale timestamp": post(url, content=body, headers=stale),
        "unsigned": post(url, content=body),
    }


def test_forged_stale_or_unsigned_deliveries_are_401_and_write_nothing(served: Served) -> None:
    payment = awaiting_payment(served.app)
    before = counts(served.app, payment)
    answers = _refusals(served, payment)
    assert {name: answer.status_code for name, answer in answers.items()} == dict.fromkeys(answers, 401)
    assert "outside the tolerance" in answers["stale timestamp"].json()["error"]
    assert counts(served.app, payment) == before
    assert status_of(served.app, payment) == "awaiting"


def test_a_replayed_delivery_is_answered_200_and_changes_nothing(served: Served) -> None:
    payment = awaiting_payment(served.app)
    assert served.settled(payment, {"id": "ch_5"}, event="evt_5").status_code == 200
    after_first = counts(served.app, payment)
    replay = served.settled(payment, {"id": "ch_5"}, event="evt_5")
    assert (replay.status_code, replay.json()) == (200, {"result": "already processed"})
    assert counts(served.app, payment) == after_first


DECLINED = {"id": "ch_10", "outcome": "declined"}


def _declined_then_awaiting_again(served: Served, event: str) -> int:
    """A payment whose delivery ``event`` declined it, then restarted and charged again: awaiting once more."""
    payment = awaiting_payment(served.app)
    assert served.settled(payment, DECLINED, event=event).status_code == 200
    with served.app.sessionmaker() as session:
        restarted = session.get_one(Payment, payment)
        restarted.defibrillate()
        restarted.fire("charge")
    return payment


@pytest.mark.parametrize("spelling", ["{}", "000{}"], ids=["same key", "key with leading zeros"])
def test_a_replay_finding_the_object_awaiting_again_is_answered_200_and_changes_nothing(
    served: Served, spelling: str
) -> None:
    """The old event's copy must not settle the new charge, whatever spelling of the key it is sent to (the
    delivery's record is kept under the key history rows use)."""
    payment = _declined_then_awaiting_again(served, "evt_10")
    before = counts(served.app, payment)
    replay = served.settled(spelling.format(payment), DECLINED, event="evt_10")  # type: ignore[arg-type]
    assert (replay.status_code, replay.json()) == (200, {"result": "already processed"})
    assert counts(served.app, payment) == before
    assert status_of(served.app, payment) == "awaiting"


def test_a_key_longer_than_any_object_id_is_404(served: Served) -> None:
    assert served.settled("9" * 150, DECLINED, event="evt_13").status_code == 404  # type: ignore[arg-type]


def test_a_delivery_for_an_object_in_another_state_is_409_and_writes_nothing(served: Served) -> None:
    payment = awaiting_payment(served.app)
    assert served.settled(payment, {"id": "ch_6"}, event="evt_6").status_code == 200
    before = counts(served.app, payment)
    answer = served.settled(payment, {"id": "ch_6b"}, event="evt_6b")
    assert (answer.status_code, answer.json()) == (409, {"error": "not in the awaited state", "state": "paid"})
    assert counts(served.app, payment) == before


def test_unknown_objects_and_routes_are_404_and_write_nothing(served: Served) -> None:
    payment = awaiting_payment(served.app)
    before = counts(served.app, payment)
    assert served.settled(999_999, {"id": "ch_7"}).status_code == 404
    assert served.settled("not-a-number", {"id": "ch_7"}).status_code == 404  # type: ignore[arg-type]
    assert served.client.post(f"{served.url}/callbacks/payment/nowhere/{payment}", content=b"x").status_code == 404
    assert served.client.post(f"{served.url}/callbacks/other/pushed/{payment}", content=b"x").status_code == 404
    assert counts(served.app, payment) == before


def test_a_body_over_the_cap_is_413_before_verification_and_writes_nothing(served: Served) -> None:
    payment = awaiting_payment(served.app)
    before = counts(served.app, payment)
    url = f"{served.url}/callbacks/payment/pushed/{payment}"
    body = b"x" * 1025
    declared = served.client.post(url, content=body, headers=signer("pushed").sign(body))
    streamed = served.client.post(url, content=iter([b"x" * 1000, b"x" * 25]), headers=signer("pushed").sign(body))
    assert (declared.status_code, streamed.status_code) == (413, 413)
    assert counts(served.app, payment) == before
    assert status_of(served.app, payment) == "awaiting"


def test_fifty_concurrent_deliveries_of_one_callback_move_the_object_once(served: Served) -> None:
    payment = awaiting_payment(served.app)
    before, _ = counts(served.app, payment)
    body = json.dumps({"id": "ch_8"}).encode()
    headers = {**signer("settled").sign(body), "Stripe-Event-Id": "evt_8", "Content-Type": "application/json"}
    url = f"{served.url}/callbacks/payment/stripe-settled/{payment}"
    with ThreadPoolExecutor(50) as pool, httpx.Client(timeout=60, limits=httpx.Limits(max_connections=60)) as client:
        answers = list(pool.map(lambda _: client.post(url, content=body, headers=headers), range(50)))
    codes = sorted(answer.status_code for answer in answers)
    assert set(codes) <= {200, 409}, codes
    assert sum(answer.json() == {"result": "moved"} for answer in answers) == 1
    assert counts(served.app, payment) == (before + 1, 1)
    with served.app.engine.connect() as connection:
        assert (
            connection.scalar(select(callback_deliveries.c.status_change_id)) == history(served.app, payment)[-1]["id"]
        )


def test_a_missing_secret_refuses_to_build_the_app(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CB_TEST_STRIPE_SECRET", raising=False)
    monkeypatch.setenv("CB_TEST_GITHUB_SECRET", "x")
    app = build_payments_app(database_url, fresh=False)
    try:
        with pytest.raises(ConfigurationError, match="CB_TEST_STRIPE_SECRET"):
            app.callbacks_asgi()
    finally:
        app.close()


def test_a_delivery_remembered_past_its_ttl_counts_as_new(served: Served) -> None:
    payment = awaiting_payment(served.app)
    assert served.settled(payment, {"id": "ch_9"}, event="evt_9").status_code == 200
    with served.app.engine.begin() as connection:
        connection.execute(callback_deliveries.update().values(expires_at=datetime(2000, 1, 1, tzinfo=UTC)))
    before = counts(served.app, payment)
    answer = served.settled(payment, {"id": "ch_9"}, event="evt_9")
    assert (answer.status_code, answer.json()["error"]) == (409, "not in the awaited state")
    assert counts(served.app, payment) == before


class Watching(Hook):
    """Records what ``before_transition`` is given: hooks given objects get the object even on a move by key."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, str, str, str]] = []

    def before_transition(self, obj: Any, source: str | None, target: str, transition: str) -> None:
        self.seen.append((obj.id, str(source), target, transition))


def test_a_before_transition_hook_is_given_the_delivered_object(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    watching = Watching()
    app = build_payments_app(database_url, hooks=(watching,))
    try:
        payment = awaiting_payment(app)
        with run_server(app.callbacks_asgi()) as url, httpx.Client(timeout=30) as client:
            answer = Served(app, url, client).settled(payment, {"id": "ch_11"}, event="evt_11")
        assert answer.status_code == 200
        assert watching.seen[-1] == (payment, "awaiting", "paid", "settle")
    finally:
        Base.metadata.drop_all(app.engine)
        app.close()
