"""Endpoints against a real HTTP server on loopback: 200, 4xx, 5xx, timeouts; what the history keeps."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from engine import Statewright
from tests.work.app.models import Call
from tests.work.server import Received


@pytest.fixture
def broker_url() -> str:
    """This module's behaviour does not depend on the broker: the in-process one is enough."""
    return "memory://"


Server = tuple[str, Received]


def _call(app: Statewright, path: str) -> int:
    with app.sessionmaker() as session:
        call = Call(path=path)
        session.add(call)
        session.commit()
        return call.id


def _history(app: Statewright, call_id: int) -> tuple[str, list]:  # type: ignore[type-arg]
    with app.sessionmaker() as session:
        call = session.get_one(Call, call_id)
        return call.status.state, call.history()


def test_a_2xx_answer_completes_and_the_history_keeps_request_and_response_masked(
    app: Statewright, run_work: Callable[[], None], http_server: Server
) -> None:
    call_id = _call(app, "ok")
    run_work()
    state, history = _history(app, call_id)
    assert state == "sent"
    processing, complete = history[1], history[2]
    request = processing.payload["request"]
    assert request["method"] == "POST"
    assert request["url"] == f"{http_server[0]}/calls/ok?token=***&page=1"
    assert request["headers"]["authorization"] == "***"
    assert request["headers"]["idempotency-key"] == f"statewright-{_outbox_id(app)}"
    assert request["body"] == {"call": call_id, "secret": "***"}
    response = complete.payload["response"]
    assert response["status"] == 200
    assert response["body"] == {"receipt": "r-ok", "secret": "***"}
    assert response["elapsed"] >= 0
    sent = http_server[1].requests[0]
    assert sent["headers"]["Authorization"] == "Bearer s3cr3t", "only the stored copy is masked"
    assert sent["path"] == "/calls/ok?token=t0ken&page=1"
    with app.sessionmaker() as session:
        assert session.get_one(Call, call_id).answer == "r-ok"
    _assert_no_secret_is_stored(app)


def _assert_no_secret_is_stored(app: Statewright) -> None:
    """Read every stored history and outbox column as text: no secret may appear anywhere."""
    from sqlalchemy import String, cast, select

    from engine.orm.tables import outbox, statuses

    with app.engine.connect() as connection:
        stored = [
            str(value)
            for table in (statuses, outbox)
            for row in connection.execute(select(*(cast(c, String) for c in table.c)))
            for value in row
        ]
    for secret in ("s3cr3t", "t0ken", "do-not-store", "server-secret"):
        assert not any(secret in value for value in stored), f"{secret!r} was stored"


def _outbox_id(app: Statewright) -> int:
    from sqlalchemy import select

    from engine.orm.tables import outbox

    with app.engine.connect() as connection:
        return connection.execute(select(outbox.c.id).where(outbox.c.kind == "endpoint")).scalar_one()


def test_a_4xx_answer_is_an_error_at_once(app: Statewright, run_work: Callable[[], None], http_server: Server) -> None:
    call_id = _call(app, "bad")
    run_work()
    state, history = _history(app, call_id)
    assert state == "rejected"
    assert http_server[1].hits["bad"] == 1
    assert history[-1].payload["response"]["status"] == 400
    assert history[-1].exception_type == "statewright.EndpointFailed"


def test_5xx_answers_are_retried_with_one_idempotency_key_then_an_error(
    app: Statewright, run_work: Callable[[], None], http_server: Server
) -> None:
    call_id = _call(app, "fail")
    run_work()
    state, history = _history(app, call_id)
    assert state == "rejected"
    assert http_server[1].hits["fail"] == 3, "one call and two retries"
    keys = {request["headers"]["Idempotency-Key"] for request in http_server[1].requests}
    assert len(keys) == 1
    assert [h.to_state for h in history] == ["pending", "sending", "rejected"]


def test_a_retry_after_a_5xx_can_succeed(app: Statewright, run_work: Callable[[], None], http_server: Server) -> None:
    call_id = _call(app, "flaky")
    run_work()
    assert _history(app, call_id)[0] == "sent"
    assert http_server[1].hits["flaky"] == 2


def test_a_timeout_is_retried_then_recorded_as_an_error(
    app: Statewright, run_work: Callable[[], None], http_server: Server
) -> None:
    call_id = _call(app, "slow")
    run_work()
    state, history = _history(app, call_id)
    assert state == "rejected"
    assert http_server[1].hits["slow"] == 3
    assert history[-1].exception_type == "httpx.ReadTimeout"
