"""``statewright admin`` as a server: it listens before it says where, and it ignores X-Forwarded-For."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine

from engine.admin.throttle import MAX_FAILED_LOGINS
from engine.cli import EXIT_UNAVAILABLE
from examples.base import Base
from examples.documents.models import Document
from tests.conftest import ROOT, free_port

TOKEN = "serving-token-7d2b-41ac"
STATEWRIGHT = str(Path(sys.executable).parent / "statewright")


@pytest.fixture
def database(tmp_path: Path) -> str:
    """A SQLite database with Statewright's tables and the document table."""
    url = f"sqlite:///{tmp_path / 'admin.db'}"
    subprocess.run([STATEWRIGHT, "db", "upgrade", "--database-url", url], check=True, capture_output=True)
    created = create_engine(url)
    Base.metadata.create_all(created, tables=[Document.__table__])
    created.dispose()
    return url


def _admin(database: str, *arguments: str) -> list[str]:
    return [
        STATEWRIGHT,
        "admin",
        "--machines",
        "machines/document.yaml",
        "--database-url",
        database,
        "--token",
        TOKEN,
        *arguments,
    ]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "STATEWRIGHT_ADMIN_TOKEN"}
    return {**env, "PYTHONPATH": str(ROOT)}


@contextmanager
def _running(database: str, port: int) -> Iterator[str]:
    server = subprocess.Popen(
        _admin(database, "--port", str(port)),
        cwd=ROOT,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                httpx.get(f"{url}/login", timeout=5)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.communicate()[0]
                time.sleep(0.05)
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.communicate(timeout=20)


def test_forged_x_forwarded_for_headers_share_one_throttle(database: str) -> None:
    """Given the real command, when each wrong token claims another address, then guessing is still throttled."""
    with _running(database, free_port()) as url, httpx.Client(base_url=url) as client:
        answers = [
            client.post("/login", data={"token": "x" * 20}, headers={"X-Forwarded-For": f"10.0.0.{n}"}).status_code
            for n in range(MAX_FAILED_LOGINS + 2)
        ]
    assert answers[:MAX_FAILED_LOGINS] == [403] * MAX_FAILED_LOGINS
    assert answers[MAX_FAILED_LOGINS:] == [429, 429], answers


def _refused(database: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        _admin(database, *arguments), cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=60
    )


def test_a_port_in_use_is_one_line_and_no_admin_page_address(database: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _refused(database, "--port", str(port))
    assert result.returncode == EXIT_UNAVAILABLE, result
    assert "Admin page" not in result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"statewright admin: cannot listen on 127.0.0.1:{port}: "), lines


def test_a_host_that_is_no_address_is_one_line_and_no_admin_page_address(database: str) -> None:
    result = _refused(database, "--host", "not a host!", "--port", str(free_port()))
    assert result.returncode == EXIT_UNAVAILABLE, result
    assert "Admin page" not in result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("statewright admin: cannot listen on not a host!:"), lines
