"""Machine-file cases are data: valid files have no diagnostics, invalid ones exactly their .expected list."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.spec import RULES_BY_CODE, check_file
from tests.conftest import CASES, MACHINES

VALID = sorted((CASES / "valid").glob("*.yaml")) + sorted(MACHINES.glob("*.yaml"))
INVALID = sorted((CASES / "invalid").glob("*.yaml"))


def _expected(case: Path) -> list[str]:
    return [line.strip() for line in case.with_suffix(".expected").read_text().splitlines() if line.strip()]


@pytest.mark.parametrize("case", VALID, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_valid_machine_files_have_no_diagnostics(case: Path) -> None:
    checked = check_file(case)
    assert [d.render() for d in checked.diagnostics] == []
    assert checked.spec is not None


@pytest.mark.parametrize("case", INVALID, ids=lambda p: p.name)
def test_invalid_machine_files_report_exactly_the_expected_diagnostics(case: Path) -> None:
    checked = check_file(case)
    found = [f"{d.location.line}:{d.location.col} {d.code}" for d in checked.diagnostics]
    assert found == _expected(case), "\n".join(d.render() for d in checked.diagnostics)


@pytest.mark.parametrize("case", INVALID, ids=lambda p: p.name)
def test_every_diagnostic_points_inside_its_file(case: Path) -> None:
    lines = case.read_bytes().split(b"\n")
    for diagnostic in check_file(case).diagnostics:
        assert diagnostic.location.file == str(case)
        assert 1 <= diagnostic.location.line <= len(lines)
        assert 1 <= diagnostic.location.col <= len(lines[diagnostic.location.line - 1]) + 1


def test_the_invalid_cases_cover_every_single_file_rule() -> None:
    """Import rules (SW5xx) are covered by the --resolve tests, and SW204 (across files) by the CLI tests."""
    covered = {line.split()[1] for case in INVALID for line in _expected(case)}
    elsewhere = {code for code in RULES_BY_CODE if code.startswith("SW5")} | {"SW204"}
    assert set(RULES_BY_CODE) - elsewhere - covered == set()


def test_the_shipped_machines_are_the_four_seed_flows() -> None:
    assert sorted(p.stem for p in MACHINES.glob("*.yaml")) == ["document", "inventory", "order", "smart_device"]
