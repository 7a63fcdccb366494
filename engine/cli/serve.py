"""``statewright serve``: receive the machines' callbacks over HTTP (``/callbacks/{machine}/{route}/{key}``)."""

from __future__ import annotations

import functools
import socket
import sys
from typing import TYPE_CHECKING

import click

from engine.cli.app import AppOptions, app_options, build_app
from engine.cli.exits import EXIT_OK, EXIT_UNAVAILABLE
from engine.cli.logs import configure_logging, log_level_option
from engine.dependencies import missing_dependency

if TYPE_CHECKING:
    from starlette.types import ASGIApp


@click.command()
@app_options
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="Port to bind.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="Server processes.")
@log_level_option
def serve(
    machines: str,
    database_url: str,
    broker_url: str,
    import_path: str,
    host: str,
    port: int,
    workers: int,
    log_level: str,
) -> None:
    """Receive signed callbacks: POST /callbacks/MACHINE/ROUTE/KEY moves the object KEY."""
    configure_logging(log_level)
    try:
        from engine.serving import listen
    except ImportError as missing:
        raise missing_dependency(missing, "Serving callbacks") from None
    options = AppOptions(machines, database_url, broker_url, import_path)
    app = build_app(options)
    try:
        asgi = app.callbacks_asgi()  # a missing secret is refused here, before anything listens
        sock = listen(host, port)
    except OSError as refused:
        app.close()
        click.echo(f"statewright serve: cannot listen on {host}:{port}: {refused.strerror or refused}", err=True)
        sys.exit(EXIT_UNAVAILABLE)
    except BaseException:
        app.close()
        raise
    click.echo(f"Callbacks: http://{host}:{sock.getsockname()[1]}/callbacks/{{machine}}/{{route}}/{{key}}")
    try:
        _run(asgi if workers == 1 else None, sock, workers=workers, options=options, log_level=log_level)
    finally:
        app.close()
    sys.exit(EXIT_OK)


def _run(asgi: ASGIApp | None, sock: socket.socket, *, workers: int, options: AppOptions, log_level: str) -> None:
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    if asgi is not None:
        with sock:
            uvicorn.Server(uvicorn.Config(asgi, log_level=log_level.lower(), proxy_headers=False)).run(sockets=[sock])
        return
    # Each worker process builds its own app (engines and sockets must not cross processes) from the same
    # options: the factory and its options are pickled into the spawned workers.
    factory = functools.partial(callbacks_for, options)
    config = uvicorn.Config(factory, factory=True, workers=workers, log_level=log_level.lower(), proxy_headers=False)
    Multiprocess(config, sockets=[sock]).run()


def callbacks_for(options: AppOptions) -> ASGIApp:
    """The callbacks app of one ``--workers`` process."""
    return build_app(options).callbacks_asgi()
