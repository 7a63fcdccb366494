"""``label:`` on states and transitions: checked by the schema, read by the status enum, diagrams, ``show``
and the admin page's badges."""

from __future__ import annotations

from pathlib import Path

import jinja2
import pytest
from click.testing import CliRunner

from engine import check_text
from engine.cli import main
from engine.diagrams import build_graph
from engine.diagrams.dot import render_dot
from engine.diagrams.mermaid import render_mermaid
from engine.spec.model import MachineSpec
from engine.statuses import build_status_enum
from tests.conftest import ROOT

LABELLED = """\
version: 1
name: payment
model: app.models:Payment
initial: awaiting_payment
states:
  awaiting_payment: {label: "Waiting for the bank"}
  paid: {final: true, label: Paid ✓}
  payment_failed: {final: true}
transitions:
  - {name: settle, from: awaiting_payment, to: paid, label: Mark as paid}
  - {name: decline, from: awaiting_payment, to: payment_failed}
"""


def _spec(text: str = LABELLED) -> MachineSpec:
    checked = check_text(text, "payment.yaml")
    assert checked.spec is not None, [d.render() for d in checked.diagnostics]
    return checked.spec


def test_the_status_enum_offers_labels_for_forms_in_the_files_order() -> None:
    status = build_status_enum(_spec(), "Status")
    assert status.options() == [
        ("awaiting_payment", "Waiting for the bank"),
        ("paid", "Paid ✓"),
        ("payment_failed", "Payment failed"),  # no label: the name, humanised
    ]
    assert status.labels() == {
        "awaiting_payment": "Waiting for the bank",
        "paid": "Paid ✓",
        "payment_failed": "Payment failed",
    }
    assert status.PAID.label == "Paid ✓"  # type: ignore[attr-defined]


def test_diagrams_draw_the_labels_and_keep_the_names_as_ids() -> None:
    graph = build_graph(_spec())
    dot = render_dot(graph)
    assert 'awaiting_payment [label="Waiting for the bank"' in dot
    assert 'label="Mark as paid"' in dot
    assert "payment_failed [label=payment_failed" in dot  # unlabelled nodes keep their names
    mermaid = render_mermaid(graph)
    assert '    state "Waiting for the bank" as awaiting_payment' in mermaid
    assert "awaiting_payment --> paid: Mark as paid" in mermaid


def test_show_has_a_label_column_when_the_machine_has_labels(tmp_path: Path) -> None:
    machine = tmp_path / "payment.yaml"
    machine.write_text(LABELLED)
    shown = CliRunner(env={"COLUMNS": "200"}).invoke(main, ["show", str(machine)])
    assert shown.exit_code == 0, shown.output
    assert "Waiting for the bank" in shown.output
    assert "Mark as paid" in shown.output
    assert "Payment failed" in shown.output


def test_the_admin_badge_shows_the_label_with_the_name_as_its_title() -> None:
    templates = jinja2.Environment(
        loader=jinja2.FileSystemLoader(ROOT / "engine" / "admin" / "templates"), autoescape=True
    )
    badge = templates.get_template("_badge.html").module.badge  # type: ignore[attr-defined]
    spec = _spec(LABELLED.replace("Waiting for the bank", "<b>Waiting</b> & co"))
    html = str(badge(spec, "awaiting_payment"))
    assert 'title="awaiting_payment"' in html
    assert ">&lt;b&gt;Waiting&lt;/b&gt; &amp; co</span>" in html  # escaped: labels come from a file
    assert ">payment_failed</span>" in str(badge(spec, "payment_failed"))


@pytest.mark.parametrize(
    ("label", "fragment"),
    [('""', "label"), ('"two\\nlines"', "label"), ('"   "', "label"), ("x" * 101, "label")],
)
def test_a_label_that_is_empty_blank_multiline_or_too_long_is_a_located_error(label: str, fragment: str) -> None:
    text = LABELLED.replace('{label: "Waiting for the bank"}', f"{{label: {label}}}")
    checked = check_text(text, "payment.yaml")
    assert checked.spec is None
    (problem,) = checked.diagnostics
    rendered = problem.render()
    assert rendered.startswith("payment.yaml:6:")
    assert fragment in rendered
