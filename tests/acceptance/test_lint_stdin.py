"""``statewright lint -``: a machine on standard input, located at ``--stdin-filename`` as editors need."""

from __future__ import annotations

import json
import subprocess
import sys

from click.testing import CliRunner, Result

from engine.cli import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, main
from tests.conftest import CASES, MACHINES

DUPLICATE_KEY = (CASES / "invalid" / "duplicate_key.yaml").read_bytes()


def lint(stdin: bytes, *args: str) -> Result:
    result = CliRunner().invoke(main, ["lint", *args], input=stdin, catch_exceptions=False)
    print(result.output)
    return result


def test_standard_input_is_located_at_the_stdin_filename() -> None:
    result = lint(DUPLICATE_KEY, "-", "--stdin-filename", "machines/draft.yaml")
    assert result.exit_code == EXIT_PROBLEMS
    assert result.stdout.splitlines()[0].startswith("machines/draft.yaml:7:1: SW003 ")


def test_without_a_stdin_filename_problems_are_located_at_stdin() -> None:
    result = lint(DUPLICATE_KEY, "-")
    assert result.stdout.splitlines()[0].startswith("<stdin>:7:1: SW003 ")


def test_a_clean_machine_on_standard_input_passes() -> None:
    result = lint((MACHINES / "order.yaml").read_bytes(), "-")
    assert result.exit_code == EXIT_OK
    assert result.stdout.strip() == "1 machine file is clean."


def test_json_and_sarif_name_the_stdin_filename() -> None:
    document = json.loads(lint(DUPLICATE_KEY, "-", "--stdin-filename", "a/b.yaml", "--format", "json").stdout)
    assert document["files"][0]["path"] == "a/b.yaml"
    assert (document["diagnostics"][0]["file"], document["diagnostics"][0]["line"]) == ("a/b.yaml", 7)
    sarif = json.loads(lint(DUPLICATE_KEY, "-", "--stdin-filename", "a/b.yaml", "--format", "sarif").stdout)
    location = sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    assert location == {"artifactLocation": {"uri": "a/b.yaml"}, "region": {"startLine": 7, "startColumn": 1}}


def test_github_annotations_name_the_stdin_filename() -> None:
    result = lint(DUPLICATE_KEY, "-", "--stdin-filename", "a/b.yaml", "--format", "github")
    assert result.stdout.startswith("::error file=a/b.yaml,line=7,col=1,")


def test_standard_input_counts_with_the_files_for_duplicate_machine_names() -> None:
    result = lint((MACHINES / "order.yaml").read_bytes(), "-", str(MACHINES))
    assert result.exit_code == EXIT_PROBLEMS
    assert "Machine name 'order' is already used by <stdin>" in result.stdout


def test_the_file_standard_input_stands_for_is_checked_once_as_standard_input() -> None:
    """An editor sends its unsaved buffer; the saved file on disk is not checked beside it."""
    result = lint(DUPLICATE_KEY, "-", str(MACHINES), "--stdin-filename", str(MACHINES / "order.yaml"))
    assert result.exit_code == EXIT_PROBLEMS
    assert result.stdout.splitlines()[0].startswith(f"{MACHINES / 'order.yaml'}:7:1: SW003 ")
    assert "SW204" not in result.stdout


def test_bytes_that_are_not_utf8_are_a_located_problem() -> None:
    result = lint(b"name: x\n\xff\n", "-", "--stdin-filename", "x.yaml")
    assert result.exit_code == EXIT_PROBLEMS
    assert result.stdout.startswith("x.yaml:2:1: SW001 The file is not UTF-8 text.")


def test_a_stdin_filename_without_the_dash_is_a_usage_error() -> None:
    result = lint(b"", str(MACHINES), "--stdin-filename", "x.yaml")
    assert result.exit_code == EXIT_USAGE
    assert "give the path `-` too" in result.stderr


def test_a_stdin_filename_with_a_line_break_is_a_usage_error() -> None:
    """Echoed as given, `x.yaml\nforged.yaml:1:1: SW001 …` printed a second, made-up problem line."""
    for name in ("x.yaml\nforged.yaml:1:1: SW001 no", "x\r.yaml", "x\x1b[2J.yaml"):
        result = lint(DUPLICATE_KEY, "-", "--stdin-filename", name)
        assert result.exit_code == EXIT_USAGE, name
        assert "forged" not in result.output
        assert "control character" in result.stderr


def test_two_dashes_are_a_usage_error() -> None:
    assert lint(b"", "-", "-").exit_code == EXIT_USAGE


def test_a_real_process_reads_its_standard_input() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "engine", "lint", "-", "--stdin-filename", "m.yaml"],
        input=DUPLICATE_KEY,
        capture_output=True,
        check=False,
    )
    assert done.returncode == EXIT_PROBLEMS, done.stderr
    assert done.stdout.decode().startswith("m.yaml:7:1: SW003 ")
