"""The `statewright` command, driven as a user drives it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from engine.cli import EXIT_OK, EXIT_PROBLEMS, EXIT_UNAVAILABLE, EXIT_USAGE, main
from engine.demo import DEMO_MACHINE
from engine.spec import RULES_BY_CODE
from tests.conftest import CASES, MACHINES

REFERENCES = str(CASES / "invalid" / "references.yaml")


def run_line(*args: str) -> Result:
    """Run the command in-process; print its output when a test fails."""
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    print(result.output)
    return result


def test_lint_of_the_shipped_machines_is_clean() -> None:
    result = run_line("lint", str(MACHINES))
    assert result.exit_code == EXIT_OK
    assert result.output.strip() == "All 4 machine files are clean."


def test_lint_reports_every_problem_of_every_file_as_path_line_col_code() -> None:
    result = run_line("lint", REFERENCES, str(CASES / "invalid" / "values.yaml"), str(MACHINES))
    assert result.exit_code == EXIT_PROBLEMS
    lines = result.output.strip().splitlines()
    assert lines[0].startswith(f"{REFERENCES}:4:10: SW201 Unknown state 'queud'")
    # 9 + 2 problems of their own; both declare the machine name 'case' (SW204) and drive app.models:Thing's
    # status column (SW205).
    assert sum(": SW" in line for line in lines) == 9 + 2 + 2
    assert any(": SW204 Machine name 'case' is already used by" in line for line in lines)
    assert any(": SW205 Machine 'case' drives app.models:Thing column 'status'" in line for line in lines)
    assert lines[-1] == "Found 13 problems in 2 of 6 files."


def test_lint_in_parallel_gives_the_same_report_as_in_one_process(tmp_path: Path) -> None:
    for index in range(45):
        source = CASES / "invalid" / ("references.yaml" if index % 3 else "values.yaml")
        shutil.copy(source, tmp_path / f"case_{index:02d}.yaml")
    serial = run_line("lint", "--jobs", "1", str(tmp_path))
    parallel = run_line("lint", "--jobs", "2", str(tmp_path))
    assert serial.exit_code == parallel.exit_code == EXIT_PROBLEMS
    assert serial.output == parallel.output


def test_lint_json_lists_files_and_located_diagnostics() -> None:
    result = run_line("lint", "--format", "json", REFERENCES)
    document = json.loads(result.output)
    assert document["files"] == [{"path": REFERENCES, "ok": False, "machine": "case", "problems": 9, "omitted": 0}]
    first = document["diagnostics"][0]
    assert (first["line"], first["col"], first["code"], first["rule"]) == (4, 10, "SW201", "unknown-state")


def test_lint_github_emits_one_annotation_per_problem() -> None:
    result = run_line("lint", "--format", "github", REFERENCES)
    annotations = [line for line in result.output.splitlines() if line.startswith("::error ")]
    assert len(annotations) == 9
    assert annotations[0].startswith(f"::error file={REFERENCES},line=4,col=10,title=SW201 unknown-state::")


def test_lint_sarif_is_a_sarif_2_1_0_log_with_regions() -> None:
    log = json.loads(run_line("lint", "--format", "sarif", REFERENCES).output)
    assert log["version"] == "2.1.0"
    run = log["runs"][0]
    assert {rule["id"] for rule in run["tool"]["driver"]["rules"]} == set(RULES_BY_CODE)
    region = run["results"][0]["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 4, "startColumn": 10}


def test_lint_of_a_missing_path_is_a_usage_error_without_traceback() -> None:
    result = run_line("lint", "no/such/place.yaml")
    assert result.exit_code == EXIT_USAGE
    assert "no such file or folder: no/such/place.yaml" in result.output
    assert "Traceback" not in result.output


def test_lint_of_a_folder_without_machines_is_a_usage_error(tmp_path: Path) -> None:
    result = run_line("lint", str(tmp_path))
    assert result.exit_code == EXIT_USAGE
    assert "no machine files" in result.output


def test_rules_documents_every_code() -> None:
    output = run_line("rules").output
    for code, rule in RULES_BY_CODE.items():
        assert f"{code}  {rule.slug}" in output


def test_help_ends_with_examples() -> None:
    assert "statewright lint machines/" in run_line("--help").output


def test_show_summarises_states_transitions_and_work() -> None:
    result = run_line("show", str(MACHINES / "document.yaml"))
    assert result.exit_code == EXIT_OK
    for text in ("states", "queued", "10m → error", "transitions", "publish", "generate", "POST"):
        assert text in result.output


def test_show_of_a_broken_machine_prints_its_problems_and_fails() -> None:
    result = run_line("show", REFERENCES)
    assert result.exit_code == EXIT_PROBLEMS
    assert f"{REFERENCES}:4:10: SW201" in result.output


@pytest.mark.parametrize(("fmt", "marker"), [("dot", "digraph document"), ("mermaid", "stateDiagram-v2")])
def test_diagram_text_formats_go_to_standard_output(fmt: str, marker: str) -> None:
    result = run_line("diagram", str(MACHINES / "document.yaml"), "--format", fmt)
    assert result.exit_code == EXIT_OK
    assert marker in result.output


@pytest.mark.parametrize(("suffix", "magic"), [("svg", b"<svg"), ("png", b"\x89PNG")])
def test_diagram_images_are_rendered_by_dot_with_the_format_taken_from_the_suffix(
    tmp_path: Path, suffix: str, magic: bytes
) -> None:
    target = tmp_path / f"document.{suffix}"
    result = run_line("diagram", str(MACHINES / "document.yaml"), "-o", str(target))
    assert result.exit_code == EXIT_OK
    assert magic in target.read_bytes()[:400]


def test_diagram_to_an_unwritable_place_is_a_usage_error(tmp_path: Path) -> None:
    result = run_line("diagram", str(MACHINES / "document.yaml"), "-o", str(tmp_path / "missing" / "x.dot"))
    assert result.exit_code == EXIT_USAGE
    assert "cannot use" in result.output


def _statewright() -> str:
    found = shutil.which("statewright", path=str(Path(sys.executable).parent))
    assert found is not None, "the statewright console script is not installed"
    return found


def test_the_installed_command_runs_as_a_real_process() -> None:
    done = subprocess.run([_statewright(), "lint", REFERENCES], capture_output=True, text=True, check=False)
    assert done.returncode == EXIT_PROBLEMS
    assert done.stdout.startswith(f"{REFERENCES}:4:10: SW201")
    assert done.stderr == ""


def test_python_dash_m_engine_is_the_same_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "engine", "lint", str(MACHINES)], capture_output=True, text=True, check=False
    )
    assert done.returncode == EXIT_OK


def test_svg_without_graphviz_says_how_to_get_it(tmp_path: Path) -> None:
    """Only the statewright script's folder is on PATH, so `dot` cannot be found."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "statewright").symlink_to(_statewright())
    env = {**os.environ, "PATH": str(bin_dir)}
    done = subprocess.run(
        [str(bin_dir / "statewright"), "diagram", str(MACHINES / "document.yaml"), "--format", "svg"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == EXIT_UNAVAILABLE
    assert "needs Graphviz's `dot` program" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_shipped_machines_resolve_against_the_example_apps() -> None:
    """Every model and callable the shipped machines name imports and has the right shape."""
    from tests.conftest import ROOT

    result = run_line("lint", "--resolve", "--path", str(ROOT), str(MACHINES))
    assert result.exit_code == EXIT_OK


def test_lint_refuses_two_files_declaring_one_machine_name(tmp_path: Path) -> None:
    for name in ("a.yaml", "b.yaml"):
        shutil.copy(MACHINES / "order.yaml", tmp_path / name)
    result = run_line("lint", str(tmp_path))
    assert result.exit_code == EXIT_PROBLEMS
    expected = f"{tmp_path / 'b.yaml'}:6:7: SW204 Machine name 'order' is already used by {tmp_path / 'a.yaml'}"
    assert expected in result.output


def test_the_demo_pushes_documents_through_its_task_endpoint_and_callback(tmp_path: Path) -> None:
    import sqlite3

    from tests.conftest import ROOT

    done = subprocess.run(
        [_statewright(), "demo", "--documents", "20", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == EXIT_OK, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    with sqlite3.connect(tmp_path / "demo.db") as connection:
        assert connection.execute("select status, count(*) from documents group by status").fetchall() == [(3, 20)]
        moves = connection.execute("select transition from statuses where model_id = '1' order by id").fetchall()
    assert [m[0] for m in moves] == ["create", "start", "generated", "publish", "published", "confirm"]
    assert (tmp_path / "document.dot").read_text().startswith("digraph document")


def test_the_demo_runs_outside_the_repository_from_the_packaged_machine(tmp_path: Path) -> None:
    done = subprocess.run(
        [_statewright(), "demo", "--documents", "2", "--out", str(tmp_path / "out")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == EXIT_OK, done.stdout + done.stderr
    assert (tmp_path / "out" / "document.yaml").read_text() == DEMO_MACHINE.read_text()
