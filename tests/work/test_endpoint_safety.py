"""Endpoints that cannot be tricked and store no secret: placeholders, redirects, body limits, masking.

A real HTTP server on loopback (``tests/work/probe/server.py``) answers; a real Dramatiq worker on the
in-process broker runs the endpoint; the history is read back from SQLite.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from dramatiq import Worker
from sqlalchemy import String, cast, select

from engine import ConfigurationError, Statewright, check_text
from engine.migrations.upgrade import upgrade
from engine.orm.tables import outbox, statuses
from tests.work.probe.handlers import SEEN
from tests.work.probe.machine import CLIENT_SECRETS, write_machine
from tests.work.probe.models import Probe, ProbeBase
from tests.work.probe.server import ENDLESS_BYTES, SERVER_SECRETS, Seen, serve

#: The endpoint's URL: the segment twice, as in ``/v1/users/{x}/{x}/admin``, and a secret query value.
PATH_URL = "/v1/users/{model.segment}/{model.segment}/{model.route}?api_key={model.key}&page=1"


@pytest.fixture
def probe_server() -> Iterator[tuple[str, Seen]]:
    with serve() as served:
        yield served


def _app(
    tmp_path: Path,
    base_url: str | None,
    *,
    url: str = PATH_URL,
    transport: httpx.BaseTransport | None = None,
    machine: dict[str, Any] | None = None,
    **options: Any,
) -> Statewright:
    folder = write_machine(tmp_path / "machines", url=url, **(machine or {}))
    app = Statewright.from_path(
        folder,
        database_url=f"sqlite:///{tmp_path / 'probe.db'}",
        broker_url="memory://",
        http_base_url=base_url,
        http_transport=transport,
        **options,
    )
    upgrade(app.engine)
    ProbeBase.metadata.create_all(app.engine)
    SEEN.clear()
    return app


def _probe(app: Statewright, **values: Any) -> int:
    with app.sessionmaker() as session:
        probe = Probe(**{"segment": "x", **values})
        session.add(probe)
        session.commit()
        return probe.id


def _run(app: Statewright) -> None:
    """Run a worker until every queue is drained (retries included), then stop it."""
    worker = Worker(app.broker, worker_timeout=50, worker_threads=2)
    worker.start()
    try:
        for _ in range(3):
            for queue in sorted(app.broker.queues):
                app.broker.join(queue, fail_fast=False, timeout=20_000)  # type: ignore[attr-defined]
            worker.join()
    finally:
        worker.stop()


def _history(app: Statewright, probe_id: int) -> tuple[str, list[Any]]:
    with app.sessionmaker() as session:
        probe = session.get_one(Probe, probe_id)
        return probe.status.state, probe.history()


def stored_text(app: Statewright) -> list[str]:
    """Every stored history and outbox column, as the database renders it as text."""
    with app.engine.connect() as connection:
        return [
            str(value)
            for table in (statuses, outbox)
            for row in connection.execute(select(*(cast(c, String) for c in table.c)))
            for value in row
        ]


def assert_no_secret_in(texts: list[str], secrets: tuple[str, ...] = CLIENT_SECRETS + SERVER_SECRETS) -> None:
    for secret in secrets:
        leaked = [text[max(0, text.find(secret) - 80) : text.find(secret) + 40] for text in texts if secret in text]
        assert not leaked, f"{secret!r} appears in: {leaked[:3]}"


# Elapsed time ----------------------------------------------------------------------------------
def test_an_endpoint_called_through_an_httpx_mock_transport_completes_and_records_its_time(tmp_path: Path) -> None:
    """``httpx.MockTransport`` responses carry no ``elapsed``: the engine measures it around the send."""
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={"receipt": "mocked"}))
    app = _app(tmp_path, None, url="https://api.example/probe/{model.route}", transport=transport)
    probe_id = _probe(app)
    _run(app)
    state, history = _history(app, probe_id)
    assert state == "sent", history[-1].exception_message
    assert history[-1].payload["response"]["body"] == {"receipt": "mocked"}
    assert 0 <= history[-1].payload["response"]["elapsed"] < 5


# Placeholders ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "segment", [".", "..", "%2e", "%2E%2e", "%252e%252E", "．．", "", None, "../admin", "a/../../admin", "..\\admin"]
)
def test_placeholder_values_that_would_change_the_path_are_refused_never_sent_and_not_retried(
    tmp_path: Path, probe_server: tuple[str, Seen], segment: str | None
) -> None:
    app = _app(tmp_path, probe_server[0])
    probe_id = _probe(app, segment=segment, route="ok")
    _run(app)
    state, history = _history(app, probe_id)
    assert state == "failed"
    assert [change.to_state for change in history] == ["pending", "sending", "failed"]
    assert history[-1].exception_type == "statewright.PlaceholderRefused"
    assert "{model.segment}" in (history[-1].exception_message or "")
    assert probe_server[1].requests == [], "nothing was sent"


def test_values_stay_inside_their_path_segment_or_query_value(tmp_path: Path, probe_server: tuple[str, Seen]) -> None:
    """Characters that would end a segment, start a query or a fragment are escaped, never interpreted."""
    app = _app(tmp_path, probe_server[0])
    _probe(app, segment="a?b#c&d=e/f", key="k&admin=1#frag", route="ok")
    _run(app)
    (request,) = probe_server[1].requests
    assert request["path"] == (
        "/v1/users/a%3Fb%23c%26d%3De%2Ff/a%3Fb%23c%26d%3De%2Ff/ok?api_key=k%26admin%3D1%23frag&page=1"
    )


# Redirects -------------------------------------------------------------------------------------
def test_a_redirect_is_an_error_at_once_and_is_not_followed(tmp_path: Path, probe_server: tuple[str, Seen]) -> None:
    app = _app(tmp_path, probe_server[0])
    probe_id = _probe(app, route="redirect")
    _run(app)
    state, history = _history(app, probe_id)
    assert state == "failed"
    assert history[-1].exception_type == "statewright.EndpointFailed"
    message = history[-1].exception_message or ""
    assert "answered 302" in message
    assert "accept_redirects: true" in message
    assert "token=***" in message, "the Location is shown masked"
    assert probe_server[1].hits == {"redirect": 1}, "not retried, not followed"


def test_a_redirect_counts_as_success_when_the_endpoint_accepts_redirects(
    tmp_path: Path, probe_server: tuple[str, Seen]
) -> None:
    app = _app(tmp_path, probe_server[0], machine={"accept_redirects": True})
    probe_id = _probe(app, route="redirect")
    _run(app)
    state, history = _history(app, probe_id)
    assert state == "sent"
    assert history[-1].payload["response"]["status"] == 302
    assert probe_server[1].hits == {"redirect": 1}, "accepted, still not followed"


def test_lint_accepts_accept_redirects_as_a_boolean_only(tmp_path: Path) -> None:
    folder = write_machine(tmp_path, url="https://api.example/x", accept_redirects=True)
    text = (folder / "probe.yaml").read_text()
    assert list(check_text(text, "probe.yaml").diagnostics) == []
    wrong = check_text(text.replace('"accept_redirects": true', '"accept_redirects": "yes"'), "probe.yaml")
    assert [d.code for d in wrong.diagnostics] == ["SW103"]


# Body limits -----------------------------------------------------------------------------------
def test_stored_bodies_are_cut_at_max_stored_body_and_say_their_size(
    tmp_path: Path, probe_server: tuple[str, Seen]
) -> None:
    app = _app(tmp_path, probe_server[0], url="/probe/{model.route}?size=300000", max_stored_body=4096)
    probe_id = _probe(app, route="big")
    _run(app)
    state, history = _history(app, probe_id)
    assert state == "sent"
    response = history[-1].payload["response"]
    assert response["body_truncated"] is True
    assert response["body_bytes"] > 290_000
    assert len(response["body"].encode()) <= 4096 + len('"***"'), "a mask cut in two is completed"
    assert SEEN[probe_id] == response["body_bytes"], "the response hook got the whole body"
    assert_no_secret_in(stored_text(app))


def test_the_stored_body_limit_comes_from_the_environment(
    tmp_path: Path, probe_server: tuple[str, Seen], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STATEWRIGHT_MAX_STORED_BODY", "2048")
    app = _app(tmp_path, probe_server[0], url="/probe/{model.route}?size=50000")
    probe_id = _probe(app, route="big")
    _run(app)
    response = _history(app, probe_id)[1][-1].payload["response"]
    assert response["body_truncated"] is True
    assert len(response["body"].encode()) <= 2048 + len('"***"')


@pytest.mark.parametrize("value", ["0", "-5", "lots"])
def test_a_body_limit_that_is_not_a_positive_number_is_a_configuration_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("STATEWRIGHT_MAX_RESPONSE_BODY", value)
    with pytest.raises(ConfigurationError, match="STATEWRIGHT_MAX_RESPONSE_BODY"):
        _app(tmp_path, None)


def test_a_response_over_max_response_body_fails_at_once_without_being_read_whole(
    tmp_path: Path, probe_server: tuple[str, Seen]
) -> None:
    app = _app(tmp_path, probe_server[0], url="/probe/{model.route}", max_response_body=1024 * 1024)
    probe_id = _probe(app, route="endless")
    _run(app)
    state, history = _history(app, probe_id)
    assert state == "failed"
    assert history[-1].exception_type == "statewright.ResponseTooLarge"
    assert "longer than 1048576 bytes" in (history[-1].exception_message or "")
    assert probe_server[1].hits == {"endless": 1}, "not retried"
    assert probe_server[1].endless_sent < ENDLESS_BYTES / 2, "the client stopped reading"


# Masking ---------------------------------------------------------------------------------------
def test_default_secret_keys_are_masked_in_headers_query_and_nested_bodies_in_any_spelling(
    tmp_path: Path, probe_server: tuple[str, Seen]
) -> None:
    """No ``redact`` list: ``X-API-Key``, ``Api-Key``, ``apiKey``, ``api_key``, ``Access-Token``... all masked."""
    app = _app(tmp_path, probe_server[0])
    probe_id = _probe(app, route="ok")
    _run(app)
    state, history = _history(app, probe_id)
    assert state == "sent"
    request, response = history[-1].payload["request"], history[-1].payload["response"]
    assert {request["headers"][name] for name in ("x-api-key", "api-key", "authorization")} == {"***"}
    assert "api_key=***&page=1" in request["url"]
    # `auth` is a secret key itself, so its whole value is masked, nested keys and all.
    assert request["body"] == {"probe": probe_id, "auth": "***", "items": [{"Access-Token": "***"}]}
    assert response["body"]["nested"] == {"access_token": "***"}
    assert response["body"]["list"] == [{"Token": "***"}]
    assert response["headers"]["set-cookie"] == "***"
    sent = probe_server[1].requests[0]
    assert sent["headers"]["Api-Key"] == "header-secret-2", "only what is stored is masked"
    assert_no_secret_in(stored_text(app))


def test_credentials_in_the_url_form_bodies_and_text_answers_are_masked(
    tmp_path: Path, probe_server: tuple[str, Seen]
) -> None:
    base = probe_server[0].replace("http://", "http://ada:url-password-1@")
    app = _app(
        tmp_path,
        base,
        machine={"payload": "form_body", "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
    )
    form_id, plain_id = _probe(app, route="form"), _probe(app, route="plain")
    _run(app)
    assert _history(app, form_id)[0] == _history(app, plain_id)[0] == "sent"
    request = _history(app, form_id)[1][-1].payload["request"]
    assert request["url"].startswith("http://***@127.0.0.1:")
    assert request["body"] == "username=ada&password=***&client_secret=***"
    assert _history(app, form_id)[1][-1].payload["response"]["body"] == "access_token=***&expires_in=60"
    assert _history(app, plain_id)[1][-1].payload["response"]["body"] == "Token: ***\nrefresh_token=*** ok"
    sent = probe_server[1].requests[0]
    assert sent["body"] == "username=ada&password=form-secret-1&client_secret=form-secret-2", "sent as a form"
    assert_no_secret_in(stored_text(app))


def test_a_failing_endpoint_records_its_exception_and_traceback_masked(
    tmp_path: Path, probe_server: tuple[str, Seen]
) -> None:
    app = _app(tmp_path, probe_server[0])
    fail_id, hook_id = _probe(app, route="fail"), _probe(app, route="hookfail")
    _run(app)
    for probe_id in (fail_id, hook_id):
        state, history = _history(app, probe_id)
        assert state == "failed"
    failed = _history(app, fail_id)[1][-1]
    assert failed.exception_message.endswith("api_key=***&page=1 answered 500")
    assert "api_key=***" in (failed.exception_traceback or "")
    hooked = _history(app, hook_id)[1][-1]
    assert hooked.exception_message == "unexpected answer from the service: access_token=***&expires_in=60"
    assert_no_secret_in(stored_text(app))
