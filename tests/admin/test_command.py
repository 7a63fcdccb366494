"""``statewright admin``: refuses to expose itself without a token; on loopback it prints a login link."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from engine.cli import EXIT_USAGE, main
from tests.conftest import ROOT, free_port


def test_a_public_address_needs_a_token() -> None:
    result = CliRunner().invoke(
        main,
        ["admin", "--host", "0.0.0.0", "--machines", "machines/document.yaml"],
        env={"STATEWRIGHT_ADMIN_TOKEN": ""},
    )
    assert result.exit_code == EXIT_USAGE
    assert "refusing to serve 0.0.0.0 without a token" in result.output


@pytest.mark.parametrize(
    ("arguments", "env", "said"),
    [
        (["--token", ""], {}, "the admin token is empty"),
        (["--token", "short"], {}, "the admin token is 5 characters long; use at least 16"),
        ([], {"STATEWRIGHT_ADMIN_TOKEN": "fifteen-chars-x"}, "the admin token is 15 characters long"),
    ],
)
def test_an_empty_or_short_token_is_refused_in_one_line(arguments: list[str], env: dict[str, str], said: str) -> None:
    result = CliRunner().invoke(main, ["admin", "--machines", "machines/document.yaml", *arguments], env=env)
    assert result.exit_code == EXIT_USAGE
    assert said in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_on_loopback_it_prints_a_login_link_that_works(tmp_path: Path) -> None:
    port = free_port()
    database = f"sqlite:///{tmp_path / 'admin.db'}"
    subprocess.run(
        [str(Path(sys.executable).parent / "statewright"), "db", "upgrade", "--database-url", database],
        check=True,
        capture_output=True,
    )
    # The command refuses to start without the model's table (tests/acceptance/test_failure_lines.py).
    from sqlalchemy import create_engine

    from examples.base import Base
    from examples.documents.models import Document

    created = create_engine(database)
    Base.metadata.create_all(created, tables=[Document.__table__])
    created.dispose()
    env = {k: v for k, v in os.environ.items() if k != "STATEWRIGHT_ADMIN_TOKEN"}
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "statewright"),
            "admin",
            "--machines",
            "machines/document.yaml",
            "--database-url",
            database,
            "--port",
            str(port),
        ],
        cwd=ROOT,
        env={**env, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        match = re.search(r"(http://localhost:\d+/login\?token=\S+)", line)
        assert match is not None, line
        note = server.stdout.readline()
        assert note.startswith("No --broker-url: the work of objects you repair waits in the outbox"), note
        with httpx.Client(follow_redirects=True, timeout=10) as client:
            for _ in range(100):
                try:
                    page = client.get(match.group(1).replace("localhost", "127.0.0.1"))
                    break
                except httpx.ConnectError:
                    time.sleep(0.1)
            page = client.get(f"http://127.0.0.1:{port}/")
            assert page.status_code == 200
            assert "Machines" in page.text
            assert client.get(f"http://127.0.0.1:{port}/login?token=wrong").status_code == 403
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.communicate(timeout=20)
