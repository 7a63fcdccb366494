"""The worker's process group: N spawned children, stopped together on SIGTERM or SIGINT, or when one dies.

A child that ends without being asked to (killed by the kernel's OOM killer, a SIGKILL, a crash) is not
respawned: the group logs one line saying which process ended and how, stops the others cleanly and
exits with ``EXIT_WORKER_DIED``, so the service manager (systemd, Kubernetes, supervisord) sees it and
restarts the command. Respawning in place would hide a crash loop from it. Dramatiq's own CLI does the same.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
from collections.abc import Callable, Iterable, Sequence
from multiprocessing.process import BaseProcess
from typing import Any

from engine.cli.exits import EXIT_OK, EXIT_WORKER_DIED

log = logging.getLogger("engine.worker")

#: The signals that stop the group; each child gets SIGTERM.
STOP_SIGNALS = frozenset({signal.SIGTERM, signal.SIGINT})
#: How a child asked to stop may end: it stopped, or the SIGTERM came before its handler was installed.
CLEAN_STOPS = frozenset({0, -signal.SIGTERM})


def run_group(target: Callable[..., object], args: tuple[Any, ...], *, processes: int) -> int:
    """Run ``target(*args)`` in ``processes`` spawned children until all have ended; returns the exit code.

    Children are spawned, not forked: a fresh interpreter opens its own database and broker connections,
    and inherits no thread or lock of this process. SIGTERM and SIGINT are blocked here while they start,
    so that a signal in between does not kill this process before its handler is in place, leaving the
    children orphaned (it is handled once they have started). A child stopped before its own handler is
    in place dies of the SIGTERM: it had consumed nothing yet, and that counts as a clean stop.
    """
    context = multiprocessing.get_context("spawn")
    children = [
        context.Process(target=target, args=args, name=f"statewright-worker-{index}") for index in range(processes)
    ]
    stopping: list[int] = []

    def stop(signum: int, frame: object) -> None:
        # Only a flag and os.kill here: the handler may interrupt the main thread anywhere (see _serve).
        stopping.append(signum)
        _terminate(children)

    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        for child in children:
            child.start()
        for signum in STOP_SIGNALS:
            signal.signal(signum, stop)
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    return _watch(children, stopping)


def _watch(children: Sequence[BaseProcess], stopping: list[int]) -> int:
    """Wait for every child; the first to end unasked stops the others. Returns the group's exit code."""
    running = {child.sentinel: child for child in children}
    code = EXIT_OK
    while running:
        for sentinel in multiprocessing.connection.wait(list(running)):
            child = running.pop(sentinel)  # type: ignore[arg-type]  # a sentinel is an int
            child.join()
            if not stopping:
                stopping.append(0)
                code = EXIT_WORKER_DIED
                log.critical(
                    "worker process %d %s; stopping the other %d (exit code %d: restart the command)",
                    child.pid,
                    ended(child.exitcode),
                    len(running),
                    EXIT_WORKER_DIED,
                )
                _terminate(running.values())
            elif child.exitcode not in CLEAN_STOPS:
                code = EXIT_WORKER_DIED
                log.error("worker process %d %s while stopping", child.pid, ended(child.exitcode))
    return code


def ended(exitcode: int | None) -> str:
    """How a child ended, in words: ``exited with code 1``, ``was killed by SIGKILL``.

    >>> ended(-9)
    'was killed by SIGKILL'
    >>> ended(0)
    'exited with code 0'
    """
    if exitcode is not None and exitcode < 0:
        try:
            return f"was killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"was killed by signal {-exitcode}"
    return f"exited with code {exitcode}"


def _terminate(children: Iterable[BaseProcess]) -> None:
    """SIGTERM each child still running (a child that already ended is skipped)."""
    for child in children:
        if child.pid is not None and child.exitcode is None:
            try:
                os.kill(child.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass  # ended meanwhile: the watch loop reaps it
