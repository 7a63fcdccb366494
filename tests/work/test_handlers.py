"""``WorkTable``: every piece of work the machines declare, its dotted paths imported when the table is built."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine import UnknownWork, load_specs
from engine.compiler import compile_machine
from engine.runtime.outbox import WorkKind
from engine.work.handlers import WorkTable
from tests.work.app import handlers

MACHINES = Path(__file__).resolve().parent / "machines"


@pytest.fixture(scope="module")
def table() -> WorkTable:
    return WorkTable({name: compile_machine(spec) for name, spec in load_specs(MACHINES).items()})


def test_each_kind_of_work_holds_its_imported_callables(table: WorkTable) -> None:
    assert table.find("job", WorkKind.TASK, "crunch").run is handlers.crunch
    endpoint = table.find("call", WorkKind.ENDPOINT, "deliver")
    assert (endpoint.run, endpoint.payload, endpoint.response) == (None, handlers.call_body, handlers.read_answer)
    assert table.find("job", WorkKind.LISTENER, "job.done#0").run is handlers.remember
    assert table.find("job", WorkKind.REACTION, "job.failed#0").run is handlers.same_job


def test_a_row_read_back_finds_its_work_by_plain_strings(table: WorkTable) -> None:
    class Row:
        machine, kind, name = "job", "task", "crunch"

    assert table.of_row(Row()).spec.name == "crunch"


@pytest.mark.parametrize(
    ("machine", "kind", "name", "says"),
    [
        ("job", "task", "gone", "the machine declares no such task (tasks: crunch)"),
        ("job", "listener", "job.done#1", "no such listener (listeners: job.done#0)"),
        ("nope", "task", "crunch", "no machine 'nope' is loaded (machines: call, job, shipment)"),
        ("job", "event", "job.done", "no such event"),
    ],
)
def test_work_the_machines_do_not_declare_is_unknown_and_says_what_they_declare(
    table: WorkTable, machine: str, kind: str, name: str, says: str
) -> None:
    with pytest.raises(UnknownWork, match=re.escape(says)):
        table.find(machine, kind, name)
