"""Kill the servers living in a test's folders and remove the folders, even after the test process died.

`Reaper` (the test process's side) starts this file as a separate process and writes to its standard
input one line per folder: ``+FOLDER`` when a private server gets one, ``-FOLDER`` once the server
cleaned it up itself. When that input closes (the test process exited, normally or by SIGKILL),
`main` kills whatever still runs in the folders left and removes them. Standard library only, so that
it starts fast.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from shutil import rmtree

#: Seconds to wait for killed processes to disappear.
KILL_TIMEOUT = 10.0


def processes_in(folder: str | os.PathLike[str]) -> list[int]:
    """Ids of the live processes whose working directory is `folder` or inside it, other than this one.

    A server changes into its data folder (PostgreSQL's postmaster and every backend, redis-server with
    ``--dir``), so this finds all of a server's processes even once they no longer share a parent or a
    process group: PostgreSQL puts each backend in a session of its own.
    """
    root = os.path.realpath(folder)
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cwd = os.readlink(f"/proc/{entry.name}/cwd")
        except OSError:  # gone meanwhile, a zombie, or another user's
            continue
        if cwd == root or cwd.startswith(root + os.sep):
            found.append(int(entry.name))
    return found


def kill_processes_in(folder: str | os.PathLike[str], *, timeout: float = KILL_TIMEOUT) -> None:
    """SIGKILL every process living in `folder` and wait until none is left.

    Raises:
        TimeoutError: Processes were still there after `timeout` seconds.
    """
    deadline = time.monotonic() + timeout
    while pids := processes_in(folder):
        if time.monotonic() > deadline:
            raise TimeoutError(f"processes {pids} in {folder} survived SIGKILL for {timeout} s")
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.01)


class Reaper:
    """The test process's side: starts a reaper process on first use and tells it about folders."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._folders: set[str] = set()
        self._lock = threading.Lock()

    def watch(self, folder: str | os.PathLike[str]) -> None:
        """Have `folder` cleaned up if this process dies before `forget(folder)`."""
        with self._lock:
            self._folders.add(os.fspath(folder))
            self._send(f"+{folder}")

    def forget(self, folder: str | os.PathLike[str]) -> None:
        """`folder` is cleaned up already."""
        with self._lock:
            self._folders.discard(os.fspath(folder))
            self._send(f"-{folder}")

    def _send(self, line: str) -> None:
        if self._process is None or self._process.poll() is not None:
            self._process = self._spawn()
            # A reaper that died (killed by hand?) took its list along: the new one gets all of it.
            for folder in self._folders:
                self._write(f"+{folder}")
        self._write(line)

    def _write(self, line: str) -> None:
        stdin = self._process.stdin if self._process is not None else None
        assert stdin is not None, "_send() spawns the reaper first"
        stdin.write(f"{line}\n".encode())
        stdin.flush()

    @staticmethod
    def _spawn() -> subprocess.Popen[bytes]:
        # A session of its own: a signal to this test run's process group must not take the reaper along.
        return subprocess.Popen(
            [sys.executable, "-I", os.path.abspath(__file__)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd="/",
            start_new_session=True,
        )


def main() -> None:
    """Follow the registrations on standard input; at its end, clean up every folder still registered."""
    folders: set[str] = set()
    for line in sys.stdin:
        sign, folder = line[:1], line[1:].rstrip("\n")
        if sign == "+":
            folders.add(folder)
        elif sign == "-":
            folders.discard(folder)
    for folder in sorted(folders):
        try:
            kill_processes_in(folder)
        finally:
            rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
