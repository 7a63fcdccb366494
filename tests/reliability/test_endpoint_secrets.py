"""No secret in any stored or shown text: a real `statewright worker` calls endpoints that succeed, fail,
redirect, answer in form or plain text, and whose response hook fails with the answer in its message;
then every stored history and outbox column, the worker's log output and the admin's object pages are
read as text, and none holds a secret (in the URL's user info, the query, headers, bodies, exceptions).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy import insert, text

from engine import Statewright
from engine.admin import build_admin
from engine.migrations.upgrade import upgrade
from engine.orm.tables import statuses
from tests.conftest import ROOT, STATEWRIGHT_TABLES, free_port
from tests.work.conftest import BROKER_URLS
from tests.work.probe.machine import CLIENT_SECRETS, write_machine
from tests.work.probe.models import Probe, ProbeBase
from tests.work.probe.server import SERVER_SECRETS, Seen, serve
from tests.work.test_endpoint_safety import assert_no_secret_in, stored_text

#: Routes of the probe server, each tempting the engine to store a secret its own way.
ROUTES = ("ok", "fail", "form", "plain", "hookfail", "redirect")
#: Secrets in a history row written before masking existed; the admin must still not show them.
OLD_SECRETS = ("old-secret-1", "old-secret-2", "old-secret-3", "old-secret-4")
TOKEN = "admin-token-for-the-secrets-test"


@pytest.fixture
def probe_server() -> Iterator[tuple[str, Seen]]:
    with serve() as served:
        yield served


#: The shared Redis under a namespace of this run's own, so no other consumer of the shared queues takes its work.
OWN_REDIS = f"{BROKER_URLS['redis']}?namespace=secrets-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def app(tmp_path: Path, postgres_url: str, probe_server: tuple[str, Seen]) -> Iterator[Statewright]:
    """The probe machine on PostgreSQL and Redis, calling the loopback server with credentials in its URL."""
    base = probe_server[0].replace("http://", "http://ada:url-password-1@")
    folder = write_machine(
        tmp_path / "machines",
        url=f"{base}/v1/users/{{model.segment}}/{{model.route}}?api_key={{model.key}}&page=1",
        payload="form_body",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    statewright = Statewright.from_path(folder, database_url=postgres_url, broker_url=OWN_REDIS)
    statewright.broker.flush_all()
    with statewright.engine.begin() as connection:
        for table in (*STATEWRIGHT_TABLES, "probes"):
            connection.execute(text(f"DROP TABLE IF EXISTS {table}"))
    upgrade(statewright.engine)
    ProbeBase.metadata.create_all(statewright.engine)
    yield statewright
    statewright.broker.flush_all()
    statewright.close()


def _run_worker(app: Statewright, folder: Path, log: Path, ids: list[int]) -> dict[int, str]:
    """Run `statewright worker` until every probe settled; its stderr (where Dramatiq logs) goes to ``log``."""
    url = app.engine.url.render_as_string(hide_password=False)
    with log.open("w") as output:
        worker = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "statewright"),
                "worker",
                "--machines",
                str(folder),
                "--database-url",
                url,
                "--broker-url",
                OWN_REDIS,
                "--processes",
                "1",
                "--threads",
                "2",
                "--sweep-every",
                "1",
                "--path",
                str(ROOT),
            ],
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        try:
            states: dict[int, str] = {}
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                with app.sessionmaker() as session:
                    states = {probe_id: session.get_one(Probe, probe_id).status.state for probe_id in ids}
                if all(state in ("sent", "failed") for state in states.values()):
                    break
                time.sleep(0.2)
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=60)
    return states


def _record_an_old_row(app: Statewright, probe_id: int) -> None:
    """A history row as rows were stored before masking: secrets in clear, and a very long payload."""
    with app.engine.begin() as connection:
        connection.execute(
            insert(statuses).values(
                machine="probe",
                model_type="tests.work.probe.models:Probe",
                model_id=str(probe_id),
                from_state="sending",
                to_state="failed",
                transition="reject",
                created_at=datetime.now(UTC),
                payload={"request": {"url": "https://h/x?api_key=old-secret-1"}, "filler": "x" * 300_000},
                context={"token": "old-secret-4"},
                exception_type="httpx.HTTPStatusError",
                exception_message="GET https://ada:old-secret-2@h/x answered 500",
                exception_traceback="Traceback (most recent call last):\n  ...\nAuthorization: Bearer old-secret-3\n",
            )
        )


def _admin_pages(app: Statewright, ids: list[int]) -> list[str]:
    """Each probe's object page, from the admin served by uvicorn on loopback."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(build_admin(app, token=TOKEN), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline, "the admin server did not start"
            time.sleep(0.05)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", follow_redirects=True) as client:
            assert client.post("/login", data={"token": TOKEN}).status_code == 200
            pages = [client.get(f"/m/probe/o/{probe_id}") for probe_id in ids]
    finally:
        server.should_exit = True
        thread.join(timeout=20)
    assert [page.status_code for page in pages] == [200] * len(ids)
    return [page.text for page in pages]


def test_no_secret_is_stored_logged_or_shown_for_endpoints_that_succeed_fail_or_are_refused(
    app: Statewright, tmp_path: Path, probe_server: tuple[str, Seen]
) -> None:
    with app.sessionmaker() as session:
        probes = [Probe(route=route, segment="x") for route in ROUTES] + [Probe(route="ok", segment="..")]
        session.add_all(probes)
        session.commit()
        ids = [probe.id for probe in probes]
    log = tmp_path / "worker.log"
    states = _run_worker(app, tmp_path / "machines", log, ids)
    assert list(states.values()) == ["sent", "failed", "sent", "sent", "failed", "failed", "failed"], log.read_text()
    assert probe_server[1].hits["fail"] == 2, "the 5xx was retried once"
    logged = log.read_text()
    assert "Failed to process message" in logged, "Dramatiq logged the failed attempts"
    assert "api_key=***" in logged
    assert_no_secret_in(stored_text(app) + [logged])

    _record_an_old_row(app, ids[0])
    pages = _admin_pages(app, ids)
    assert "api_key=***" in pages[1]
    assert "more characters not shown" in pages[0]
    assert_no_secret_in(pages, CLIENT_SECRETS + SERVER_SECRETS + OLD_SECRETS)
