"""``statewright lint`` on files with thousands of problems reports the first ones and says how many more,
in every output format; machines that share a model's status column are refused across files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from engine.cli import EXIT_PROBLEMS, main
from engine.cli.results import MAX_DIAGNOSTICS_PER_FILE
from tests.conftest import CASES, MACHINES

#: Problems in the dense file: each line repeats the key `k`.
REPEATS = 2500


def run_line(*args: str) -> Result:
    """Run the command in-process; print its output when a test fails."""
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    print(result.output[-3000:])
    return result


@pytest.fixture
def dense(tmp_path: Path) -> str:
    """A machine with REPEATS duplicate keys and no other problem."""
    path = tmp_path / "dense.yaml"
    head = "version: 1\nname: dense\nmodel: app.models:Thing\ninitial: a\nstates:\n  a: {final: true}\nmetadata:\n"
    path.write_text(head + "  k: 1\n" * (REPEATS + 1))
    return str(path)


OMITTED = REPEATS - MAX_DIAGNOSTICS_PER_FILE
SAYS_MORE = f"... and {OMITTED} more problems in this file, not shown (at most {MAX_DIAGNOSTICS_PER_FILE} are reported"


def test_text_lists_the_first_problems_then_says_how_many_more(dense: str) -> None:
    result = run_line("lint", dense, str(MACHINES / "order.yaml"))
    assert result.exit_code == EXIT_PROBLEMS
    lines = result.output.strip().splitlines()
    assert sum(": SW003 " in line for line in lines) == MAX_DIAGNOSTICS_PER_FILE
    assert lines[-2].startswith(f"{dense}: {SAYS_MORE}")
    assert lines[-1] == f"Found {REPEATS} problems ({OMITTED} not shown) in 1 of 2 files."


def test_json_counts_every_problem_and_the_omitted_ones_per_file(dense: str) -> None:
    document = json.loads(run_line("lint", "--format", "json", dense, str(MACHINES / "order.yaml")).output)
    assert document["files"] == [
        {"path": dense, "ok": False, "machine": "dense", "problems": REPEATS, "omitted": OMITTED},
        {"path": str(MACHINES / "order.yaml"), "ok": True, "machine": "order", "problems": 0, "omitted": 0},
    ]
    assert len(document["diagnostics"]) == MAX_DIAGNOSTICS_PER_FILE


def test_github_adds_a_notice_for_the_problems_not_shown(dense: str) -> None:
    lines = run_line("lint", "--format", "github", dense).output.strip().splitlines()
    assert sum(line.startswith("::error ") for line in lines) == MAX_DIAGNOSTICS_PER_FILE
    assert f"::notice file={dense},title=problems not shown::{SAYS_MORE}" in "\n".join(lines)


def test_sarif_reports_the_problems_not_shown_as_a_notification_of_the_run(dense: str) -> None:
    run = json.loads(run_line("lint", "--format", "sarif", dense).output)["runs"][0]
    assert len(run["results"]) == MAX_DIAGNOSTICS_PER_FILE
    (invocation,) = run["invocations"]
    (note,) = invocation["toolExecutionNotifications"]
    assert note["level"] == "note"
    assert note["message"]["text"].startswith(SAYS_MORE)
    assert note["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == dense


def test_files_under_the_cap_say_nothing_more() -> None:
    sarif = json.loads(run_line("lint", "--format", "sarif", str(CASES / "invalid" / "references.yaml")).output)
    assert sarif["runs"][0]["invocations"] == [{"executionSuccessful": True, "toolExecutionNotifications": []}]
    text = run_line("lint", str(CASES / "invalid" / "references.yaml")).output
    assert "more problems" not in text


def test_lint_refuses_two_machines_driving_one_status_column() -> None:
    folder = CASES / "cross_file" / "duplicate_binding"
    result = run_line("lint", str(folder))
    assert result.exit_code == EXIT_PROBLEMS
    assert (
        f"{folder / 'b_order_payments.yaml'}:4:8: SW205 Machine 'order_payments' drives app.models:Order column "
        "'status', which machine 'orders'"
    ) in result.output
    assert "c_order_shipping.yaml" not in result.output


def test_rules_documents_the_duplicate_binding_rule() -> None:
    assert "SW205  duplicate-binding" in run_line("rules").output
