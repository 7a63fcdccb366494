"""The private PostgreSQL and Redis servers that fault-injection tests stop, kill and restart."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from tests.conftest import ROOT
from tests.services import PrivatePostgres, PrivateRedis

#: Seconds a restart or a recovery may take before the test fails; they take well under one.
RESTART_BOUND = 10.0


@pytest.fixture
def engine(private_postgres: PrivatePostgres) -> Engine:
    """An engine on the private database that opens a new connection each time (no pool to go stale)."""
    return create_engine(private_postgres.url, poolclass=NullPool)


def _select_one(engine: Engine) -> int | None:
    with engine.connect() as connection:
        value: int | None = connection.scalar(text("SELECT 1"))
        return value


def _alive(pid: int) -> bool:
    """Whether process `pid` exists and is not a zombie (an orphan's zombie may wait long for its reaping)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_stopped_postgres_refuses_connections_and_accepts_them_again_once_started(
    private_postgres: PrivatePostgres, engine: Engine
) -> None:
    assert _select_one(engine) == 1
    private_postgres.stop()
    assert not private_postgres.is_up()
    with pytest.raises(OperationalError):
        _select_one(engine)
    private_postgres.start()
    assert private_postgres.is_up()
    assert _select_one(engine) == 1


def test_a_restart_of_postgres_is_quick_and_breaks_open_connections(
    private_postgres: PrivatePostgres, engine: Engine
) -> None:
    with engine.connect() as held:
        held.execute(text("SELECT 1"))
        started = time.monotonic()
        private_postgres.restart()
        elapsed = time.monotonic() - started
        with pytest.raises(OperationalError):
            held.execute(text("SELECT 1"))
    assert _select_one(engine) == 1
    print(f"\nPrivatePostgres.restart(): {elapsed * 1000:.0f} ms")
    assert elapsed < RESTART_BOUND


def test_a_killed_postgres_comes_back_with_what_was_committed_and_without_the_rest(
    private_postgres: PrivatePostgres, engine: Engine
) -> None:
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE notes (body text)"))
        connection.execute(text("INSERT INTO notes VALUES ('committed')"))
    with engine.connect() as pending:
        pending.execute(text("INSERT INTO notes VALUES ('pending')"))  # its transaction stays open
        started = time.monotonic()
        private_postgres.kill()
        assert not private_postgres.is_up()
        private_postgres.start()
        elapsed = time.monotonic() - started
        with pytest.raises(OperationalError):
            pending.execute(text("SELECT 1"))
    with engine.connect() as connection:
        assert connection.scalars(text("SELECT body FROM notes")).all() == ["committed"]
    print(f"\nPrivatePostgres.kill() then start(), crash recovery included: {elapsed * 1000:.0f} ms")
    assert elapsed < RESTART_BOUND


@pytest.mark.parametrize(
    ("private_redis", "outage", "kept"),
    [("none", "restart", False), ("append-only", "restart", True), ("append-only", "kill", True)],
    indirect=["private_redis"],
)
def test_redis_keeps_its_keys_through_an_outage_only_with_the_append_only_file(
    private_redis: PrivateRedis, outage: str, kept: bool
) -> None:
    with redis.Redis.from_url(private_redis.url) as client:
        client.set("key", "value")
    if outage == "kill":
        private_redis.kill()
        private_redis.start()
    else:
        private_redis.restart()
    with redis.Redis.from_url(private_redis.url) as client:
        assert client.get("key") == (b"value" if kept else None)


def test_leaving_the_with_block_through_an_error_kills_the_server_and_removes_its_folder() -> None:
    with pytest.raises(KeyError), PrivateRedis() as server:  # noqa: PT012 - the error must leave the with block
        pid, folder = server.pid, server.folder
        raise KeyError("a failing test")
    assert pid is not None
    assert not _alive(pid)
    assert not folder.exists()


#: A test process that starts a private Redis, says where, and then exits without closing it, or waits to be killed.
ABANDONING = """
import sys, time
from tests.services import PrivateRedis
server = PrivateRedis()
server.start()
print(server.folder, server.pid, flush=True)
if sys.argv[1] == "waits":
    time.sleep(120)
"""


@pytest.mark.parametrize("ending", ["exits", "is killed"])
def test_the_servers_a_test_process_leaves_behind_are_killed_and_their_folders_removed(ending: str) -> None:
    """Given a process with a private Redis, when it exits without closing it or is SIGKILLed, both go."""
    parent = subprocess.Popen(
        [sys.executable, "-c", ABANDONING, "exits" if ending == "exits" else "waits"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert parent.stdout is not None
    folder, pid = parent.stdout.readline().split()
    if ending == "is killed":
        assert _alive(int(pid))
        parent.kill()
    parent.communicate(timeout=30)
    deadline = time.monotonic() + 20
    while (_alive(int(pid)) or Path(folder).exists()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(int(pid))
    assert not Path(folder).exists()
