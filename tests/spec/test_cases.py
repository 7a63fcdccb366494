"""Machine-file cases are data: valid files have no diagnostics, invalid ones exactly their .expected list."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import DefinitionError
from engine.cli.lint import LintOptions, lint_files
from engine.spec import RULES_BY_CODE, check_file, load_specs
from tests.conftest import CASES, MACHINES

VALID = sorted((CASES / "valid").glob("*.yaml")) + sorted(MACHINES.glob("*.yaml"))
INVALID = sorted((CASES / "invalid").glob("*.yaml"))
#: Folders of files linted together, each with an `expected` file of `FILE:LINE:COL CODE` lines.
CROSS_FILE = sorted(path for path in (CASES / "cross_file").iterdir() if path.is_dir())


def _expected(case: Path) -> list[str]:
    listing = case if case.name == "expected" else case.with_suffix(".expected")
    return [line.strip() for line in listing.read_text().splitlines() if line.strip()]


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


@pytest.mark.parametrize("case", CROSS_FILE, ids=lambda p: p.name)
def test_files_linted_together_report_exactly_the_expected_cross_file_diagnostics(case: Path) -> None:
    results = lint_files(LintOptions((str(case),), "text", resolve=False, import_path=".", jobs=1))
    found = [
        f"{Path(d.location.file).name}:{d.location.line}:{d.location.col} {d.code}"
        for result in results
        for d in result.diagnostics
    ]
    assert found == _expected(case / "expected")


@pytest.mark.parametrize("case", CROSS_FILE, ids=lambda p: p.name)
def test_loading_files_together_refuses_what_lint_reports_across_files(case: Path) -> None:
    with pytest.raises(DefinitionError) as refused:
        load_specs(case)
    found = [
        f"{Path(d.location.file).name}:{d.location.line}:{d.location.col} {d.code}" for d in refused.value.diagnostics
    ]
    assert found == _expected(case / "expected")


def test_the_invalid_cases_cover_every_rule() -> None:
    """Import rules (SW5xx) are covered by the --resolve tests."""
    covered = {line.split()[1] for case in INVALID for line in _expected(case)}
    covered |= {line.split()[1] for case in CROSS_FILE for line in _expected(case / "expected")}
    elsewhere = {code for code in RULES_BY_CODE if code.startswith("SW5")}
    assert set(RULES_BY_CODE) - elsewhere - covered == set()


def test_the_shipped_machines_are_the_four_seed_flows() -> None:
    assert sorted(p.stem for p in MACHINES.glob("*.yaml")) == ["document", "inventory", "order", "smart_device"]
