"""PostgreSQL and Redis servers of a test's own, to stop, kill and restart without touching shared ones.

Each server lives in a temporary folder with a free port on 127.0.0.1. Whatever happens to the test,
the server is killed and its folder removed: by `close()` (the context manager and the fixtures in
`tests/conftest.py` call it), by an `atexit` hook, and, should the test process itself be killed, by
the reaper process (`tests/reaper.py`) that watches it. For example::

    with PrivatePostgres() as database, PrivateRedis(persistence="append-only") as broker:
        ...                      # workers on database.url and broker.url
        database.kill()          # SIGKILL, as a crash would
        database.start()         # crash recovery: every commit is still there
        broker.restart()         # SIGTERM and start again: the append-only file keeps the queues
"""

from __future__ import annotations

import atexit
import functools
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from abc import ABC, abstractmethod
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self

import psycopg
from psycopg import sql

from tests.reaper import Reaper, kill_processes_in

#: Seconds a server may take to accept connections after `start()`.
START_TIMEOUT = 30.0
#: Seconds a server may take to exit after `stop()` or `kill()`.
STOP_TIMEOUT = 30.0
#: Seconds between two readiness probes while a server starts.
PROBE_INTERVAL = 0.01
#: Where every private server listens.
HOST = "127.0.0.1"


class ServerError(RuntimeError):
    """A private server did not start or stop; the message ends with the tail of its log."""


_REAPER = Reaper()
#: Servers not closed yet, for the `atexit` hook.
_OPEN: set[PrivateServer] = set()


@atexit.register
def _close_all() -> None:
    for server in list(_OPEN):
        server.close()


def _log_tail(path: Path, size: int = 2000) -> str:
    try:
        return path.read_bytes()[-size:].decode(errors="replace")
    except OSError:
        return "(no log)"


class PrivateServer(ABC):
    """A server process in a folder of its own, listening on `HOST`:`port`, always cleaned up.

    Use it as a context manager (entering starts it, leaving kills it and removes the folder) or call
    `close()`. Subclasses say how to run the server and how to tell that it is up.
    """

    #: The signal that asks the server to shut down cleanly.
    STOP_SIGNAL = signal.SIGTERM

    def __init__(self, *, name: str, owner: pwd.struct_passwd | None = None) -> None:
        from tests.conftest import free_port  # here: tests.conftest imports this module for its fixtures

        self.name = name
        self.port = free_port()
        self.folder = _make_folder(f"statewright-{name}-", owner)
        self._process: subprocess.Popen[bytes] | None = None
        _REAPER.watch(self.folder)
        _OPEN.add(self)

    @property
    def log_path(self) -> Path:
        """The server's standard output and error, across restarts."""
        return self.folder / "server.log"

    @property
    def pid(self) -> int | None:
        """The process id of the running server, or None."""
        return self._process.pid if self._process is not None and self._process.poll() is None else None

    @property
    def is_running(self) -> bool:
        """Whether the server process exists (it may still be starting)."""
        return self._process is not None and self._process.poll() is None

    @abstractmethod
    def command(self) -> list[str]:
        """The command line that runs the server in the foreground."""

    @abstractmethod
    def is_up(self) -> bool:
        """Whether the server runs and answers a client right now."""

    def popen_options(self) -> dict[str, Any]:
        """Extra `subprocess.Popen` arguments (a subclass may switch to another user)."""
        return {}

    def start(self) -> None:
        """Start the server and wait until it answers.

        Raises:
            ServerError: It exited or did not answer within `START_TIMEOUT` seconds.
        """
        if self.is_running:
            raise RuntimeError(f"{self.name} on port {self.port} is running already")
        with self.log_path.open("ab") as log:
            # A session of its own, so a Ctrl-C meant for pytest does not stop the server behind a test's back.
            self._process = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.folder,
                start_new_session=True,
                **self.popen_options(),
            )
        self._wait_until_up()

    def stop(self) -> None:
        """Ask the server to shut down cleanly and wait until it exited; nothing happens if it is not running."""
        self._signal(self.STOP_SIGNAL)

    def kill(self) -> None:
        """SIGKILL the server, then any process it left in its folder, as a crash would."""
        self._signal(signal.SIGKILL)
        kill_processes_in(self.folder)

    def restart(self) -> None:
        """`stop()`, then `start()` on the same port and folder."""
        self.stop()
        self.start()

    def close(self) -> None:
        """Kill the server and remove its folder. Safe to call more than once."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait(timeout=STOP_TIMEOUT)
        try:
            kill_processes_in(self.folder)
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
            _REAPER.forget(self.folder)
            _OPEN.discard(self)

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def _signal(self, number: int) -> None:
        if not self.is_running:
            return
        assert self._process is not None
        self._process.send_signal(number)
        try:
            self._process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
            raise ServerError(self._failure(f"ignored signal {number} for {STOP_TIMEOUT} s")) from None

    def _wait_until_up(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + START_TIMEOUT
        while not self.is_up():
            if self._process.poll() is not None:
                raise ServerError(self._failure(f"exited with status {self._process.returncode} while starting"))
            if time.monotonic() > deadline:
                raise ServerError(self._failure(f"did not answer within {START_TIMEOUT} s"))
            time.sleep(PROBE_INTERVAL)

    def _failure(self, what: str) -> str:
        return f"{self.name} on port {self.port} {what}; {self.log_path} ends with:\n{_log_tail(self.log_path)}"


def _make_folder(prefix: str, owner: pwd.struct_passwd | None) -> Path:
    """A new temporary folder, given to `owner` (who must be able to reach it) if there is one."""
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir=_base_folder(owner)))
    if owner is not None:
        os.chown(folder, owner.pw_uid, owner.pw_gid)
    return folder


def _base_folder(owner: pwd.struct_passwd | None) -> str:
    # $TMPDIR may be a private folder of root's, which an unprivileged server cannot enter.
    for candidate in (tempfile.gettempdir(), "/tmp"):
        if owner is None or _reachable(Path(candidate), owner):
            return candidate
    raise ServerError(f"no temporary folder the server's user can enter: set TMPDIR to one (e.g. /tmp); {owner}")


def _reachable(folder: Path, user: pwd.struct_passwd) -> bool:
    """Whether `user` may enter `folder` and every folder above it."""
    for part in (folder.resolve(), *folder.resolve().parents):
        mode = part.stat()
        if mode.st_uid == user.pw_uid:
            allowed = mode.st_mode & stat.S_IXUSR
        elif mode.st_gid == user.pw_gid:  # its only group: `_as_user` drops the supplementary ones
            allowed = mode.st_mode & stat.S_IXGRP
        else:
            allowed = mode.st_mode & stat.S_IXOTH
        if not allowed:
            return False
    return True


def _as_user(user: pwd.struct_passwd | None) -> dict[str, Any]:
    """`subprocess.Popen` arguments that run a program as `user` (None: as this process's user)."""
    if user is None:
        return {}
    return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}


def _postgres_owner() -> pwd.struct_passwd | None:
    """Who runs PostgreSQL: it refuses root, so as root the `postgres` user, otherwise this user."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        raise ServerError("running as root, PostgreSQL needs an unprivileged `postgres` user; none exists") from None


@functools.cache
def _postgres_bin() -> Path:
    """The folder of the newest PostgreSQL server installed (Debian keeps each version in its own)."""

    def version(postgres: Path) -> tuple[int, ...]:
        return tuple(int(part) for part in postgres.parts[-3].split(".") if part.isdigit())

    installed = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=version)
    if installed:
        return installed[-1].parent
    if on_path := shutil.which("postgres"):
        return Path(on_path).parent
    raise ServerError(
        "PostgreSQL's server programs are required (apt-get install postgresql); "
        "found none in /usr/lib/postgresql/*/bin or on PATH"
    )


@functools.cache
def _postgres_template() -> Path:
    """A data folder made by initdb once per test process: servers copy it, about three times faster."""
    owner = _postgres_owner()
    folder = _make_folder("statewright-postgres-template-", owner)
    _REAPER.watch(folder)
    atexit.register(shutil.rmtree, folder, True)
    done = subprocess.run(
        [
            str(_postgres_bin() / "initdb"),
            "--pgdata",
            str(folder / "data"),
            "--username",
            "postgres",
            "--auth",
            "trust",
            "--encoding",
            "UTF8",
            "--locale",
            "C",
            "--no-sync",
        ],
        cwd=folder,
        capture_output=True,
        text=True,
        **_as_user(owner),
    )
    if done.returncode != 0:
        raise ServerError(f"initdb failed with status {done.returncode}:\n{done.stdout}{done.stderr}")
    return folder / "data"


#: PostgreSQL's shutdown modes: fast rolls back open transactions and writes a checkpoint; immediate
#: skips the checkpoint, so the next start recovers from the WAL as after a crash.
POSTGRES_STOP_SIGNALS = {"fast": signal.SIGINT, "immediate": signal.SIGQUIT}


class PrivatePostgres(PrivateServer):
    """A PostgreSQL cluster of a test's own: trust authentication, TCP on 127.0.0.1 only, fsync off.

    The first `start()` creates the cluster and an empty database named `database`, reached at `url`.
    Turning fsync off loses data only if the machine itself crashes, so `kill()` keeps every commit.
    """

    def __init__(self, *, database: str = "statewright") -> None:
        self.database = database
        self._owner = _postgres_owner()
        self._created = False
        super().__init__(name="postgres", owner=self._owner)

    @property
    def url(self) -> str:
        """A SQLAlchemy URL of the database."""
        return f"postgresql+psycopg://postgres@{HOST}:{self.port}/{self.database}"

    @property
    def data(self) -> Path:
        """The cluster's data folder."""
        return self.folder / "data"

    def command(self) -> list[str]:
        """The postmaster with this server's settings (no Unix socket: nothing but the port reaches it)."""
        settings = {"listen_addresses": HOST, "port": self.port, "unix_socket_directories": "", "fsync": "off"}
        options = [item for name, value in settings.items() for item in ("-c", f"{name}={value}")]
        return [str(_postgres_bin() / "postgres"), "-D", str(self.data), *options]

    def popen_options(self) -> dict[str, Any]:
        """Run as the cluster's owner."""
        return _as_user(self._owner)

    def start(self) -> None:
        """Start the cluster, wait until it accepts connections, and create the database the first time."""
        if not self.data.exists():
            # `cp -a` keeps the owner and the modes PostgreSQL insists on.
            subprocess.run(["cp", "-a", str(_postgres_template()), str(self.data)], check=True)
        super().start()
        if not self._created:
            with psycopg.connect(self._conninfo(), autocommit=True) as connection:
                connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.database)))
            self._created = True

    def stop(self, mode: Literal["fast", "immediate"] = "fast") -> None:
        """Shut down in `mode` (see `POSTGRES_STOP_SIGNALS`) and wait until the postmaster exited.

        The postmaster exits only after all its backends, so nothing of the cluster is left running.
        """
        self._signal(POSTGRES_STOP_SIGNALS[mode])

    def is_up(self) -> bool:
        """Whether the postmaster runs and a connection succeeds."""
        if not self.is_running:
            return False
        try:
            with psycopg.connect(self._conninfo(), connect_timeout=2) as connection:
                connection.execute("SELECT 1")
        except psycopg.Error:
            return False
        return True

    def _conninfo(self) -> str:
        return f"host={HOST} port={self.port} user=postgres dbname=postgres"


#: redis-server flags per persistence. none: nothing survives a restart. append-only: every write goes
#: to the append-only file, fsynced before the reply, so even a SIGKILL loses no acknowledged write.
REDIS_PERSISTENCE_FLAGS = {
    "none": ["--save", "", "--appendonly", "no"],
    "append-only": ["--save", "", "--appendonly", "yes", "--appendfsync", "always"],
}


class PrivateRedis(PrivateServer):
    """A redis-server of a test's own on 127.0.0.1, keeping its files (if any) in its folder."""

    def __init__(self, *, persistence: Literal["none", "append-only"] = "none") -> None:
        if persistence not in REDIS_PERSISTENCE_FLAGS:
            raise ValueError(f"Unknown persistence {persistence!r}; choose one of {sorted(REDIS_PERSISTENCE_FLAGS)}")
        executable = shutil.which("redis-server")
        if executable is None:
            raise ServerError("redis-server is required (apt-get install redis-server); it is not on PATH")
        self.persistence = persistence
        self._executable = executable
        super().__init__(name="redis")

    @property
    def url(self) -> str:
        """A Redis URL of database 0."""
        return f"redis://{HOST}:{self.port}/0"

    def command(self) -> list[str]:
        """redis-server in the foreground with this server's port, folder and persistence."""
        return [
            self._executable,
            "--port",
            str(self.port),
            "--bind",
            HOST,
            "--dir",
            str(self.folder),
            *REDIS_PERSISTENCE_FLAGS[self.persistence],
        ]

    def is_up(self) -> bool:
        """Whether redis-server runs and answers PING (not while it is still loading its file)."""
        if not self.is_running:
            return False
        try:
            with socket.create_connection((HOST, self.port), timeout=2) as connection:
                connection.sendall(b"PING\r\n")
                return connection.recv(64).startswith(b"+PONG")
        except OSError:
            return False
