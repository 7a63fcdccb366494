"""``statewright admin``: serve the admin page."""

from __future__ import annotations

import sys

import click

from engine.cli.app import AppOptions, app_options, build_app, hold_work_in_outbox, is_in_process
from engine.cli.configured import setting_option
from engine.cli.exits import EXIT_OK, EXIT_UNAVAILABLE, EXIT_USAGE
from engine.cli.logs import configure_logging, log_level_option
from engine.dependencies import missing_dependency

#: Environment variable holding the admin login token.
ADMIN_TOKEN_ENV = "STATEWRIGHT_ADMIN_TOKEN"


@click.command()
@app_options
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="Port to bind.")
@setting_option("--token", "admin_token", "Login token, at least 16 characters; required unless the host is loopback.")
@log_level_option
def admin(
    machines: str,
    database_url: str,
    broker_url: str,
    import_path: str,
    host: str,
    port: int,
    token: str | None,
    log_level: str,
) -> None:
    """Serve the admin page: objects, history, repair actions, metrics, live diagrams."""
    configure_logging(log_level)
    try:
        from engine.admin import build_admin
        from engine.admin.security import is_loopback, new_token, token_problem
        from engine.serving import listen, serve
    except ImportError as missing:
        raise missing_dependency(missing, "The admin page") from None
    problem = token_problem(token) if token is not None else None
    if problem is not None:
        click.echo(f"statewright admin: --token (or ${ADMIN_TOKEN_ENV}): {problem}", err=True)
        sys.exit(EXIT_USAGE)
    if token is None and not is_loopback(host):
        click.echo(
            f"statewright admin: refusing to serve {host} without a token: anyone who can reach it could "
            f"act on your objects. Give --token (or ${ADMIN_TOKEN_ENV}), or bind to 127.0.0.1.",
            err=True,
        )
        sys.exit(EXIT_USAGE)
    app = build_app(AppOptions(machines, database_url, broker_url, import_path))
    login_token = token or new_token()
    page = build_admin(app, token=login_token)
    try:
        sock = listen(host, port)
    except OSError as refused:
        app.close()
        click.echo(f"statewright admin: cannot listen on {host}:{port}: {refused.strerror or refused}", err=True)
        sys.exit(EXIT_UNAVAILABLE)
    port = sock.getsockname()[1]
    shown = "localhost" if is_loopback(host) else host
    if token is None:
        click.echo(f"Admin page: http://{shown}:{port}/login?token={login_token}")
    else:
        click.echo(f"Admin page: http://{shown}:{port}/ (log in with your token)")
    if is_in_process(broker_url):
        hold_work_in_outbox(app)
        click.echo(
            "No --broker-url: the work of objects you repair waits in the outbox for your workers' sweep, and "
            "Retry on the failures page is refused. Give the broker your workers use to send it at once."
        )
    try:
        serve(page, sock, log_level=log_level)
    finally:
        app.close()
    sys.exit(EXIT_OK)
