"""``statewright worker``: Dramatiq workers for an app's machines, each process sweeping now and then.

With ``--processes 1`` the worker runs in this process; with more, as a group of spawned processes
(``engine.cli.process_group``). Why not Dramatiq's own ``dramatiq`` command: see the README's *Stopping
and supervising workers*.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click

from engine.cli.app import AppOptions, app_options, opened_app, resend_after_option
from engine.cli.configured import current_settings, setting_option
from engine.cli.exits import EXIT_OK, EXIT_USAGE
from engine.cli.logs import LOG_FORMAT as LOG_FORMAT  # re-exported: its old home
from engine.cli.logs import configure_logging, log_level_option
from engine.cli.process_group import run_group

if TYPE_CHECKING:
    from engine.connections import ConnectionSettings  # it loads SQLAlchemy, which `statewright lint` must not

#: Environment variable read when --http-base-url is not given.
HTTP_BASE_URL_ENV = "STATEWRIGHT_HTTP_BASE_URL"
#: Seconds between two looks at the stop flag (how long SIGTERM may wait before the worker starts stopping).
STOP_CHECK_SECONDS = 0.2
#: Milliseconds a stopping worker waits for running deliveries (Dramatiq's default).
DRAMATIQ_STOP_MS = 600_000
#: Milliseconds a worker stopping while its database is unreachable waits for held deliveries.
STOP_DURING_OUTAGE_MS = 2_000

log = logging.getLogger("engine.worker")


@dataclass(frozen=True)
class Serving:
    """How each worker process runs (picklable: spawned children get it)."""

    threads: int
    queues: tuple[str, ...]
    sweep_every: float
    resend_after: timedelta | None
    connections: ConnectionSettings
    #: ``--log-level``: spawned processes start with logging unset, so each is told.
    log_level: str = "WARNING"
    #: The group's process, for a spawned child: the child stops when it is gone (SIGKILLed, say).
    parent: int | None = None


def _serve(options: AppOptions, serving: Serving) -> None:
    """One worker process: consume messages and sweep (``Sweeper``) until SIGTERM or SIGINT, then stop cleanly."""
    from dramatiq import Worker

    from engine.work.sweeper import add_sweeper

    # The handler only sets a flag. It must not call Event.set(): the handler runs on the main thread,
    # which may be inside Event.wait() holding the event's lock, and the process deadlocks (seen).
    stopping: list[int] = []
    signal.signal(signal.SIGTERM, lambda signum, frame: stopping.append(signum))
    signal.signal(signal.SIGINT, lambda signum, frame: stopping.append(signum))
    configure_logging(serving.log_level)
    with opened_app(options, connections=serving.connections) as app:
        add_sweeper(app, every=serving.sweep_every, resend_after=serving.resend_after)
        worker = Worker(
            app.broker, worker_threads=serving.threads, worker_timeout=500, queues=set(serving.queues) or None
        )
        worker.start()  # boots the sweeper too
        log.info("ready: %d threads consuming %s", serving.threads, ", ".join(serving.queues) or "every queue")
        try:
            while not stopping:
                time.sleep(STOP_CHECK_SECONDS)
                if serving.parent is not None and os.getppid() != serving.parent:
                    log.warning("the worker group's process %d is gone; stopping", serving.parent)
                    break
        finally:
            # Deliveries held through an outage would keep the stop waiting; left unacknowledged, the broker
            # hands them to another worker (RabbitMQ at once, Redis after the heartbeat timeout).
            timeout = STOP_DURING_OUTAGE_MS if not app.work.gate.is_healthy else DRAMATIQ_STOP_MS
            log.warning(
                "stopping: letting running handlers finish (at most %d s; SIGKILL stops at once, and their "
                "work is resent once its lease runs out)",
                timeout // 1000,
            )
            worker.stop(timeout=timeout)


def _refuse_misconfiguration(options: AppOptions) -> None:
    """Exit 2 with one line per problem that would fail every message of some work; see ``startup_problems``."""
    from engine.errors import DefinitionError
    from engine.spec.loader import load_specs
    from engine.work.preflight import startup_problems

    folder = str(Path(options.import_path).resolve())
    if folder not in sys.path:
        sys.path.insert(0, folder)
    try:
        specs = load_specs(options.machines)
    except (DefinitionError, FileNotFoundError):
        return  # building the app reports these, with their own exit code
    problems = startup_problems(specs.values(), http_base_url=options.http_base_url)
    for problem in problems:
        click.echo(f"statewright worker: {problem}", err=True)
    if problems:
        sys.exit(EXIT_USAGE)


@click.command()
@app_options
@click.option(
    "--processes", default=1, show_default=True, type=click.IntRange(min=1, max=256), help="Worker processes."
)
@click.option(
    "--threads", default=8, show_default=True, type=click.IntRange(min=1, max=1024), help="Threads per process."
)
@click.option("--queue", "queues", multiple=True, help="Only these queues (repeatable; default: all).")
@click.option(
    "--sweep-every",
    default=30.0,
    show_default=True,
    type=click.FloatRange(min=0.1, max=86_400),
    help="Seconds between outbox and timeout sweeps.",
)
@setting_option("--http-base-url", "http_base_url", "Joined to endpoint URLs that are paths.")
@resend_after_option(
    "The sweep resends task and endpoint work whose object still waits in its `when` state this "
    "long after the message was sent."
)
@log_level_option
def worker(
    machines: str,
    database_url: str,
    broker_url: str,
    import_path: str,
    processes: int,
    threads: int,
    queues: tuple[str, ...],
    sweep_every: float,
    http_base_url: str | None,
    resend_after: timedelta | None,
    log_level: str,
) -> None:
    """Run the tasks, endpoints, listeners and reactions of the machines (needs redis:// or amqp://)."""
    if broker_url.startswith("memory"):
        click.echo(
            "statewright worker: memory:// lives inside one process; give --broker-url redis://… or "
            "amqp://… shared with your app.",
            err=True,
        )
        sys.exit(EXIT_USAGE)
    if http_base_url is not None:
        from engine.work.endpoints import check_base_url

        check_base_url(http_base_url)  # ConfigurationError: exit 2, before anything else is opened
    settings = current_settings()
    options = AppOptions(machines, database_url, broker_url, import_path, http_base_url, settings)
    # Fail fast, in this process and before consuming anything: bad configuration, a bad folder or database.
    from engine.connections import ConnectionSettings

    connections = ConnectionSettings.for_workers(settings)
    _refuse_misconfiguration(options)
    with opened_app(options, connections=connections):
        pass
    from engine.work.preflight import check_broker

    check_broker(broker_url)  # a broker that cannot be reached would fail every fetch, forever
    # Only now: the checks above report in one line each, and the clients' own logging would repeat them.
    configure_logging(log_level)
    if processes == 1:
        _serve(options, Serving(threads, queues, sweep_every, resend_after, connections, log_level))
        sys.exit(EXIT_OK)
    serving = Serving(threads, queues, sweep_every, resend_after, connections, log_level, parent=os.getpid())
    sys.exit(run_group(_serve, (options, serving), processes=processes))
