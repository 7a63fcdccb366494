"""``statewright sweep``, ``statewright defibrillate`` and ``statewright touch``: repairs an operator runs."""

from __future__ import annotations

import sys
from datetime import timedelta
from typing import TYPE_CHECKING

import click

from engine.cli.app import (
    AppOptions,
    app_options,
    hold_work_in_outbox,
    is_in_process,
    opened_app,
    refuse_in_process_broker,
    resend_after_option,
)
from engine.cli.exits import EXIT_OK, EXIT_USAGE
from engine.cli.logs import configure_logging, log_level_option

if TYPE_CHECKING:
    from engine.runtime.flow import Flow
    from engine.statewright import Statewright


@click.command()
@app_options
@click.option(
    "--timeouts/--no-timeouts", default=True, show_default=True, help="Move objects stuck past their state's timeout."
)
@click.option(
    "--outbox/--no-outbox",
    default=True,
    show_default=True,
    help="Send outbox rows not sent yet, and resend work a broker lost (see --resend-after).",
)
@resend_after_option(
    "Resend task and endpoint work whose object still waits in its `when` state this long after the message was sent."
)
@log_level_option
def sweep(
    machines: str,
    database_url: str,
    broker_url: str,
    import_path: str,
    timeouts: bool,
    outbox: bool,
    resend_after: timedelta,
    log_level: str,
) -> None:
    """Move stuck objects and resend unsent or lost work. Safe to run from several hosts at once.

    Sending needs the broker your workers use; ``--no-outbox`` runs without one (memory://): the work of the
    objects it moves stays in the outbox for the workers' own sweep.
    """
    from engine.callbacks.pruning import prune_deliveries
    from engine.runtime.sweeps import sweep_timeouts
    from engine.work.resends import resend_stalled

    configure_logging(log_level)
    with opened_app(AppOptions(machines, database_url, broker_url, import_path)) as app:
        if outbox:
            refuse_in_process_broker(broker_url, ", or --no-outbox to only move objects past their timeout")
        elif is_in_process(broker_url):
            hold_work_in_outbox(app)  # nothing would run what memory:// took
        if timeouts:
            for name, flow in app.flows.items():
                result = sweep_timeouts(flow, app.sessionmaker)
                click.echo(f"{name}: {result.moved} moved past their timeout, {result.skipped} already moved")
            click.echo(f"callbacks: {prune_deliveries(app.sessionmaker)} expired delivery rows deleted")
        if outbox:
            click.echo(f"outbox: {app.sweep_outbox()} rows sent")
            resent = resend_stalled(app, after=resend_after)
            click.echo(f"outbox: {resent} rows resent (objects still waiting; `statewright failures` says why)")
    sys.exit(EXIT_OK)


@click.command()
@app_options
@click.argument("machine")
@click.option(
    "--where",
    "where",
    default=None,
    metavar="status=STATE",
    help="Only objects in this state (default: every state with a defibrillate target).",
)
@click.option("--dry-run", is_flag=True, help="List what would be restarted; change nothing.")
def defibrillate(
    machines: str, database_url: str, broker_url: str, import_path: str, machine: str, where: str | None, dry_run: bool
) -> None:
    """Restart failed objects of MACHINE from their state's defibrillate target, and re-queue its work."""
    with opened_app(AppOptions(machines, database_url, broker_url, import_path)) as app:
        if machine not in app.flows:
            click.echo(f"statewright defibrillate: no machine {machine!r}; machines: {', '.join(app.flows)}", err=True)
            sys.exit(EXIT_USAGE)
        flow = app.flows[machine]
        state = _parse_where(where, flow.field, list(flow.compiled.spec.states), command="defibrillate")
        if not dry_run:
            refuse_in_process_broker(broker_url, " (restarted objects' work is sent), or --dry-run")
        restarted = _restart(app, flow, state, dry_run)
    click.echo(f"{restarted} restarted" if not dry_run else "dry run: nothing changed")
    sys.exit(EXIT_OK)


def _restart(app: Statewright, flow: Flow, state: str | None, dry_run: bool) -> int:
    from engine.errors import ConcurrencyError, TransitionError
    from engine.runtime.sweeps import restartable

    restarted = 0
    with app.sessionmaker() as session:
        for obj in restartable(flow, session, state):
            source = flow.state_of(obj)
            target = flow.compiled.spec.states[source].defibrillate
            click.echo(f"{flow.machine} {flow.object_id(obj)}: {source} -> {target}{' (dry run)' if dry_run else ''}")
            if dry_run:
                continue
            try:
                flow.defibrillate(obj, actor="statewright defibrillate")
                restarted += 1
            except (ConcurrencyError, TransitionError) as moved:
                click.echo(f"  skipped: {moved}", err=True)
    return restarted


def _parse_where(where: str | None, field: str, states: list[str], *, command: str) -> str | None:
    if where is None:
        return None
    key, _, value = where.partition("=")
    if key.strip() not in ("status", field) or value.strip() not in states:
        click.echo(
            f"statewright {command}: --where takes status=STATE with a state of the machine "
            f"({', '.join(states)}), not {where!r}",
            err=True,
        )
        sys.exit(EXIT_USAGE)
    return value.strip()


@click.command()
@app_options
@click.argument("machine")
@click.option(
    "--where",
    "where",
    default=None,
    metavar="status=STATE",
    help="Only objects in this state (default: every state marked touchable).",
)
@click.option("--dry-run", is_flag=True, help="List what would be touched; change nothing.")
def touch(
    machines: str, database_url: str, broker_url: str, import_path: str, machine: str, where: str | None, dry_run: bool
) -> None:
    """Re-enter the touchable state of MACHINE's objects: a `touch` history row each, and the state's work again."""
    with opened_app(AppOptions(machines, database_url, broker_url, import_path)) as app:
        if machine not in app.flows:
            click.echo(f"statewright touch: no machine {machine!r}; machines: {', '.join(app.flows)}", err=True)
            sys.exit(EXIT_USAGE)
        flow = app.flows[machine]
        state = _parse_where(where, flow.field, _touchable_states(flow), command="touch")
        if not dry_run:
            refuse_in_process_broker(broker_url, " (touched objects' work is sent), or --dry-run")
        touched = _touch(app, flow, state, dry_run)
    click.echo(f"{touched} touched" if not dry_run else "dry run: nothing changed")
    sys.exit(EXIT_OK)


def _touchable_states(flow: Flow) -> list[str]:
    return [name for name, spec in flow.compiled.spec.states.items() if spec.touchable]


def _touch(app: Statewright, flow: Flow, state: str | None, dry_run: bool) -> int:
    from engine.errors import ConcurrencyError, TransitionError
    from engine.runtime.sweeps import touchable

    touched = 0
    with app.sessionmaker() as session:
        for obj in touchable(flow, session, state):
            click.echo(f"{flow.machine} {flow.object_id(obj)}: {flow.state_of(obj)}{' (dry run)' if dry_run else ''}")
            if dry_run:
                continue
            try:
                flow.touch(obj, {}, actor="statewright touch")
                touched += 1
            except (ConcurrencyError, TransitionError) as moved:
                click.echo(f"  skipped: {moved}", err=True)
    return touched
