"""``statewright worker`` logs at ``--log-level`` (or ``STATEWRIGHT_LOG_LEVEL``) in every spawned process."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from engine import Statewright
from tests.work.processes import (  # noqa: F401 - fixtures
    one_job_done,
    postgres_database_url,
    redis_broker_url,
    start_worker,
    wait_for,
)

#: A log line: time, level, [process id], logger, message.
LINE = re.compile(r"^\S+ \S+ (?P<level>[A-Z]+) \[(?P<pid>\d+)\] (?P<logger>\S+): (?P<message>.*)$")


class Worker:
    """A ``statewright worker`` process whose standard error is collected line by line as it comes."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line.rstrip("\n"))

    def records(self, level: str | None = None) -> list[re.Match[str]]:
        found = [match for line in list(self.lines) if (match := LINE.match(line))]
        return [match for match in found if level is None or match["level"] == level]

    def wait_for(self, predicate: Callable[[], object], timeout: float = 60) -> None:
        wait_for(predicate, timeout, every=0.2, why=lambda: "\n".join(self.lines))

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=60)
        self._reader.join(timeout=10)  # every line read
        return code


@contextmanager
def worker(app: Statewright, broker_url: str, *args: str, env: dict[str, str] | None = None) -> Iterator[Worker]:
    process = start_worker(
        app,
        broker_url,
        *("--threads", "2", "--sweep-every", "1", *args),
        env=env,
        without=("STATEWRIGHT_LOG_LEVEL",),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    running = Worker(process)
    try:
        yield running
    finally:
        if process.poll() is None:
            # The whole group: a parent killed alone leaves its spawned workers consuming the test broker.
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        running._reader.join(timeout=10)
        assert process.stderr is not None
        process.stderr.close()


def _ready_pids(running: Worker) -> set[str]:
    return {match["pid"] for match in running.records("INFO") if match["message"].startswith("ready: ")}


@pytest.mark.parametrize(
    ("args", "env"),
    [(("--log-level", "info"), {}), ((), {"STATEWRIGHT_LOG_LEVEL": "Info"})],
    ids=["option", "variable"],
)
def test_info_lines_come_from_every_spawned_process(
    app: Statewright, broker_url: str, args: tuple[str, ...], env: dict[str, str]
) -> None:
    with worker(app, broker_url, "--processes", "2", *args, env=env) as running:
        running.wait_for(lambda: len(_ready_pids(running)) == 2)
        assert running.stop() == 0
    shutdowns = {match["pid"] for match in running.records("INFO") if match["message"] == "Shutting down..."}
    assert shutdowns == _ready_pids(running), "\n".join(running.lines)


def _one_job_done(app: Statewright, running: Worker) -> None:
    """Wait until the worker did a job: it is up, and its "ready" line, at INFO, would be out by now."""
    one_job_done(app, why=lambda: "\n".join(running.lines))


def test_by_default_only_warnings_are_logged(app: Statewright, broker_url: str) -> None:
    with worker(app, broker_url) as running:
        _one_job_done(app, running)
        assert running.stop() == 0
    assert running.records("INFO") == []
    assert [m["message"] for m in running.records("WARNING")][-1].startswith("stopping: "), running.lines


def test_the_option_beats_the_variable(app: Statewright, broker_url: str) -> None:
    with worker(app, broker_url, "--log-level", "warning", env={"STATEWRIGHT_LOG_LEVEL": "DEBUG"}) as running:
        _one_job_done(app, running)
        assert running.stop() == 0
    assert {m["level"] for m in running.records()} == {"WARNING"}, running.lines
