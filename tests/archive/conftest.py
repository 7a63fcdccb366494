"""Archive tests: the statuses table on SQLite and PostgreSQL, archives in a local folder and in S3 (moto).

The S3 side is a real moto server on loopback, started once per run; a server that cannot start fails
the run (project rule: never skip).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert, text

from engine.archive import Archiver, ArchiveSettings
from engine.db import make_engine
from engine.migrations.upgrade import upgrade
from engine.orm.tables import statuses
from tests.conftest import STATEWRIGHT_TABLES, free_port

BUCKET = "statewright-test"
#: Credentials moto accepts; set for this process and its children.
AWS_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
LONG_AGO = datetime.now(UTC) - timedelta(days=3)


def start_moto() -> tuple[subprocess.Popen[bytes], str]:
    """A moto S3 server process on a free loopback port, once it accepts connections; and its endpoint."""
    server = shutil.which("moto_server", path=str(Path(sys.executable).parent))
    assert server is not None, "moto_server is required (pip install 'moto[server]')"
    port = free_port()
    process = subprocess.Popen(
        [server, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process, endpoint
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail(f"moto server did not start on {endpoint}")
            time.sleep(0.1)


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A moto S3 server on loopback with an empty bucket."""
    saved = {name: os.environ.get(name) for name in AWS_ENV}
    os.environ.update(AWS_ENV)
    process, endpoint = start_moto()
    try:
        s3_client(endpoint).create_bucket(Bucket=BUCKET)
        yield endpoint
    finally:
        process.terminate()
        process.wait(timeout=20)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def s3_client(endpoint: str) -> Any:
    import boto3

    return boto3.client("s3", endpoint_url=endpoint)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """The Statewright tables, fresh."""
    made = make_engine(database_url)
    with made.begin() as connection:
        for table in STATEWRIGHT_TABLES:
            connection.execute(text(f"DROP TABLE IF EXISTS {table}"))
    upgrade(made)
    yield made
    made.dispose()


@pytest.fixture(params=["file", "s3"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> ArchiveSettings:
    """Archives in a local folder, or in the moto bucket under a prefix of this test's own."""
    temp = tmp_path / "building"
    if request.param == "file":
        return ArchiveSettings(uri=f"file://{tmp_path / 'archives'}", temp_dir=temp)
    endpoint: str = request.getfixturevalue("s3_endpoint")
    return ArchiveSettings(
        uri=f"s3://{BUCKET}/{tmp_path.name}", temp_dir=temp, s3_endpoint_url=endpoint, s3_path_style=True
    )


@pytest.fixture
def archiver(engine: Engine, settings: ArchiveSettings) -> Archiver:
    return Archiver(engine, settings)


def archive_args(engine: Engine, uri: str, temp_dir: Path | str | None = None) -> list[str]:
    """The options of ``compress``, ``restore`` or ``purge`` naming ``engine``'s database and where archives go."""
    temp = ["--temp-dir", str(temp_dir)] if temp_dir is not None else []
    return ["--database-url", engine.url.render_as_string(hide_password=False), "--archive-uri", uri, *temp]


def add_history(
    engine: Engine,
    count: int,
    *,
    created_at: datetime = LONG_AGO,
    payload: Any = "default",
    traceback: str | None = None,
) -> list[int]:
    """History rows with payloads (by default a recorded request and response of about 1 kB)."""
    rows = [
        {
            "machine": "document",
            "model_type": "tests:Doc",
            "model_id": str(n),
            "from_state": "a",
            "to_state": "b",
            "transition": "go",
            "payload": sample_payload(n) if payload == "default" else payload,
            "exception_traceback": traceback,
            "created_at": created_at,
        }
        for n in range(count)
    ]
    with engine.begin() as connection:
        result = connection.execute(insert(statuses).returning(statuses.c.id, sort_by_parameter_order=True), rows)
        return list(result.scalars())


def sample_payload(n: int) -> dict[str, Any]:
    return {
        "request": {
            "method": "POST",
            "url": f"https://api.example.com/documents/{n}",
            "headers": {"content-type": "application/json", "authorization": "***"},
            "body": {"id": n, "text": "lorem ipsum dolor sit amet " * 20},
        },
        "response": {"status": 200, "body": {"accepted": True, "ref": f"ref-{n:06d}", "ünïcode": "✓"}},
    }
