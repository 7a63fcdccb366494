"""The admin's failures page over plain HTTP: login, CSRF, the list, and Retry running the work again."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from dramatiq import Worker
from dramatiq.brokers.stub import StubBroker

from engine import Statewright
from engine.admin import build_admin
from engine.cli.app import hold_work_in_outbox
from engine.work.failures import FAILED, RETRIED, list_failures
from tests.admin.conftest import TOKEN, run_server
from tests.work.app.handlers import GRUMBLES, HEARD, LISTENER_FAILS
from tests.work.conftest import FAILING, VANISHING, failed_listener_and_reaction, fresh_tables


@dataclass
class Failing:
    """The admin page over the errand app, whose listener and reaction have failed for good."""

    app: Statewright
    url: str
    drain: Callable[[], None]
    listener_id: int
    reaction_id: int


@pytest.fixture
def failing(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Failing]:
    (tmp_path / f"{VANISHING}.py").write_text("def run(errand):\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    app = Statewright.from_path(FAILING, database_url=database_url)
    fresh_tables(app)
    GRUMBLES.clear()
    HEARD.clear()
    LISTENER_FAILS[0] = True
    broker = app.broker
    assert isinstance(broker, StubBroker)
    worker = Worker(broker, worker_timeout=50, worker_threads=2)
    worker.start()

    def drain() -> None:
        for _ in range(3):
            for queue in sorted(broker.queues):
                broker.join(queue, fail_fast=False, timeout=20_000)
            worker.join()

    listener_id, reaction_id = failed_listener_and_reaction(app, drain)
    with run_server(build_admin(app, token=TOKEN)) as url:
        yield Failing(app, url, drain, listener_id, reaction_id)
    worker.stop()
    app.close()


def _csrf(page: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match is not None
    return match.group(1)


def test_the_failures_page_needs_a_login(failing: Failing) -> None:
    with httpx.Client(base_url=failing.url) as client:
        assert client.get("/failures").headers["location"].endswith("/login")
        assert client.post(f"/failures/{failing.listener_id}/retry").status_code == 401


def test_the_page_lists_each_failure_with_its_exception_and_a_retry_button(failing: Failing) -> None:
    with httpx.Client(base_url=failing.url) as client:
        assert client.post("/login", data={"token": TOKEN}).status_code == 303
        page = client.get("/failures")
    assert page.status_code == 200
    assert "2 open failures" in page.text
    assert "errand listener errand.done#0" in page.text
    assert "errand reaction errand.done#0" in page.text
    assert "tests.work.app.handlers.Grumble" in page.text
    assert page.text.count('name="retry"') == 2
    assert '/failures">failures</a>' in page.text, "the menu links to the page"


def test_retry_needs_the_csrf_token_then_marks_the_record_retried_and_runs_the_work_again(failing: Failing) -> None:
    LISTENER_FAILS[0] = False  # the listener's problem was fixed
    with httpx.Client(base_url=failing.url) as client:
        assert client.post("/login", data={"token": TOKEN}).status_code == 303
        forged = client.post(f"/failures/{failing.listener_id}/retry", data={"csrf": "forged"})
        assert forged.status_code == 403
        assert {r.id: r.status for r in list_failures(failing.app.engine)}[failing.listener_id] == FAILED
        page = client.get("/failures").text
        done = client.post(f"/failures/{failing.listener_id}/retry", data={"csrf": _csrf(page)})
        assert done.status_code == 303
        assert done.headers["location"] == "/failures"
        failing.drain()
        after = client.get("/failures").text
    assert len(HEARD) == 1, "the listener ran again, and succeeded"
    statuses = {r.id: r.status for r in list_failures(failing.app.engine, statuses=(FAILED, RETRIED))}
    assert statuses == {failing.listener_id: RETRIED, failing.reaction_id: FAILED}
    assert f"failure #{failing.listener_id} retried: errand listener errand.done#0 sent again" in after
    assert after.count('name="retry"') == 1


def test_without_a_shared_broker_retry_is_refused_and_the_record_stays_open(failing: Failing) -> None:
    hold_work_in_outbox(failing.app)  # what `statewright admin` does on memory://
    with httpx.Client(base_url=failing.url, follow_redirects=True) as client:
        assert client.post("/login", data={"token": TOKEN}).status_code == 200
        page = client.get("/failures").text
        after = client.post(f"/failures/{failing.listener_id}/retry", data={"csrf": _csrf(page)}).text
    assert "Cannot send work: memory:// lives inside one process" in after
    assert {r.id: r.status for r in list_failures(failing.app.engine)}[failing.listener_id] == FAILED
