"""The typed spec: what a machine file becomes, and that it cannot be changed."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

import pytest

from engine import DefinitionError, load_spec, load_specs
from engine.spec.model import AllOf, GuardCall, GuardExpression, GuardName, Not
from tests.conftest import CASES, MACHINES


@pytest.fixture
def example() -> object:
    return load_spec(CASES / "valid" / "issue_example.yaml")


def test_the_issue_example_loads_into_typed_parts(example) -> None:  # type: ignore[no-untyped-def]
    assert example.name == "document"
    assert example.model == "examples.documents.models:Document"
    assert list(example.states) == ["queued", "processing", "error", "complete"]
    assert example.states["processing"].timeout.after == timedelta(minutes=10)
    assert example.states["error"].defibrillate == "queued"
    assert example.final_states == ("complete",)
    assert example.states["queued"].color == "#F59E0B"
    assert example.guards["covered"] == GuardExpression("context.amount >= model.total")
    assert example.guards["verified"] == GuardCall("app.guards:verified")
    assert example.transitions[1].guard == AllOf((GuardName("covered"), Not(GuardName("verified"))))
    task = example.tasks["generate"]
    assert (task.retries, task.backoff.minimum, task.backoff.maximum) == (3, timedelta(seconds=1), timedelta(minutes=5))
    assert task.steps.processing == "processing"
    assert task.queue == "documents"
    endpoint = example.endpoints["fetch"]
    assert (endpoint.method, endpoint.timeout, endpoint.redact) == ("POST", timedelta(seconds=30), ("authorization",))
    assert example.reactions[0].fire == "start"
    assert example.listeners[0].event == "document.queued"


def test_the_spec_is_immutable(example) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(dataclasses.FrozenInstanceError):
        example.name = "other"
    with pytest.raises(TypeError):
        example.states["new"] = example.states["queued"]


def test_a_state_without_value_stores_its_name() -> None:
    spec = load_spec(MACHINES / "smart_device.yaml")
    assert spec.states["offline"].value == "offline"


def test_from_star_means_every_state() -> None:
    spec = load_spec(CASES / "valid" / "on_off_states.yaml")
    retire = spec.transitions[2]
    assert retire.from_any
    assert spec.sources_of(retire) == ("off", "on", "no")


def test_load_spec_raises_with_every_located_problem() -> None:
    with pytest.raises(DefinitionError) as failed:
        load_spec(CASES / "invalid" / "references.yaml")
    assert len(failed.value.diagnostics) == 9
    assert str(failed.value).startswith(f"{CASES / 'invalid' / 'references.yaml'}:4:10: SW201")
    assert "(and 8 more problems)" in str(failed.value)


def test_load_specs_reads_a_folder_by_machine_name() -> None:
    specs = load_specs(MACHINES)
    assert sorted(specs) == ["document", "inventory", "order", "smart_device"]


def test_load_specs_refuses_two_files_with_one_machine_name(tmp_path: Path) -> None:
    text = (MACHINES / "order.yaml").read_text()
    (tmp_path / "a.yaml").write_text(text)
    (tmp_path / "b.yaml").write_text(text)
    with pytest.raises(DefinitionError) as failed:
        load_specs(tmp_path)
    # The copy also drives the same model's status column (SW205).
    found = [(d.code, d.location.file, d.location.line) for d in failed.value.diagnostics]
    assert found == [("SW204", str(tmp_path / "b.yaml"), 6), ("SW205", str(tmp_path / "b.yaml"), 8)]


def test_an_unreadable_file_is_a_diagnostic_not_an_exception(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError) as failed:
        load_spec(tmp_path)  # a folder is not a file
    assert failed.value.diagnostics[0].code == "SW001"
