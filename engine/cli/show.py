"""``statewright show``: a machine at a glance, as tables."""

from __future__ import annotations

import click
from rich.table import Table

from engine.cli.failing import make_console
from engine.cli.loading import load_or_exit
from engine.spec.durations import format_duration
from engine.spec.model import HmacVerifier, MachineSpec, describe_guard


def _states_table(spec: MachineSpec) -> Table:
    table = Table(title=f"{spec.name}: states ({spec.model}, column {spec.field!r})")
    labelled = any(state.label for state in spec.states.values())  # a label column only where there are labels
    for column in ("state", *(["label"] if labelled else []), "value", "kind", "timeout", "defibrillate", "events"):
        table.add_column(column)
    for state in spec.states.values():
        kinds = (("initial", state.name == spec.initial), ("final", state.final), ("touchable", state.touchable))
        kind = ", ".join(k for k, on in kinds if on)
        timeout = f"{format_duration(state.timeout.after)} → {state.timeout.to}" if state.timeout else ""
        label = [state.display] if labelled else []
        table.add_row(
            state.name, *label, repr(state.value), kind, timeout, state.defibrillate or "", ", ".join(state.events)
        )
    if spec.emits:
        table.caption = f"emitted from code (emits:): {', '.join(spec.emits)}"
    return table


def _transitions_table(spec: MachineSpec) -> Table:
    table = Table(title="transitions")
    labelled = any(transition.label for transition in spec.transitions)
    for column in ("name", *(["label"] if labelled else []), "from", "to", "guard", "actions"):
        table.add_column(column)
    for transition in spec.transitions:
        sources = "*" if transition.from_any else ", ".join(transition.sources)
        guard = describe_guard(transition.guard) if transition.guard else ""
        label = [transition.display] if labelled else []
        table.add_row(transition.name, *label, sources, transition.target, guard, ", ".join(transition.actions))
    return table


def _work_table(spec: MachineSpec) -> Table:
    table = Table(title="tasks and endpoints")
    for column in ("name", "kind", "when", "steps", "retries", "runs"):
        table.add_column(column)
    for task in spec.tasks.values():
        steps = " → ".join(s for s in (task.steps.processing, task.steps.complete) if s) + f" | {task.steps.error}"
        table.add_row(task.name, "task", task.steps.when, steps, str(task.retries), task.run)
    for endpoint in spec.endpoints.values():
        steps = " → ".join(s for s in (endpoint.steps.processing, endpoint.steps.complete) if s)
        table.add_row(
            endpoint.name,
            "endpoint",
            endpoint.steps.when,
            f"{steps} | {endpoint.steps.error}",
            str(endpoint.retries),
            f"{endpoint.method} {endpoint.url}",
        )
    return table


def _callbacks_table(spec: MachineSpec) -> Table:
    table = Table(title="callbacks")
    for column in ("name", "route", "when", "steps", "verify", "handle"):
        table.add_column(column)
    for callback in spec.callbacks.values():
        verifier = callback.verify
        if isinstance(verifier, HmacVerifier):
            verify = f"hmac-sha256 {verifier.header} (${verifier.secret_env})"
        else:
            verify = verifier.run
        table.add_row(
            callback.name,
            f"/callbacks/{spec.name}/{callback.route}/{{key}}",
            callback.steps.when,
            f"{callback.steps.complete} | {callback.steps.error}",
            verify,
            callback.handle or "",
        )
    return table


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
def show(file: str) -> None:
    """Print a summary of a machine: its states, transitions, tasks, endpoints and callbacks."""
    spec = load_or_exit(file)
    console = make_console()
    console.print(_states_table(spec))
    console.print(_transitions_table(spec))
    if spec.tasks or spec.endpoints:
        console.print(_work_table(spec))
    if spec.callbacks:
        console.print(_callbacks_table(spec))
    for listener in spec.listeners:
        console.print(f"listener: {listener.event} → {listener.run}")
    for reaction in spec.reactions:
        console.print(f"reaction: on {reaction.on}, select {reaction.select}, fire {reaction.fire}")
