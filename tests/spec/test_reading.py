"""A path that is not a small regular file is reported, located, without reading it whole or waiting on it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine import DefinitionError
from engine.spec import check_file, check_text, find_machine_files, load_specs
from engine.spec.reading import MAX_FILE_BYTES
from tests.conftest import MACHINES, ROOT

MINIMAL = "version: 1\nname: m\nmodel: app.models:Thing\ninitial: a\nstates:\n  a: {final: true}\n"


def _check_in_a_process(path: Path, timeout: float = 60) -> str:
    """``check_file`` in a child process, so a read that hangs or fills memory fails the test instead of the run."""
    code = (
        "import sys; from engine.spec import check_file; "
        "print(*(d.render() for d in check_file(sys.argv[1]).diagnostics), sep='\\n')"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)], cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


def test_a_link_to_an_endless_device_is_refused_without_reading_it(tmp_path: Path) -> None:
    link = tmp_path / "zero.yaml"
    link.symlink_to("/dev/zero")
    assert _check_in_a_process(link) == (
        f"{link}:1:1: SW001 Cannot read the file: it is a character device, not a "
        "regular file. Name a machine file (*.yaml)."
    )


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    assert "SW001 Cannot read the file: it is a FIFO (named pipe)" in _check_in_a_process(fifo, timeout=20)


def test_a_directory_is_refused_when_checked_as_a_file(tmp_path: Path) -> None:
    folder = tmp_path / "machines.yaml"
    folder.mkdir()
    assert [d.message for d in check_file(folder).diagnostics] == [
        "Cannot read the file: it is a directory, not a regular file. Name a machine file (*.yaml)."
    ]


def test_a_huge_file_is_too_large_at_the_line_where_the_limit_is_crossed(tmp_path: Path) -> None:
    """A sparse 64 GiB file: reading it whole would take minutes and all the memory; we read 10 MiB and one byte."""
    huge = tmp_path / "huge.yaml"
    line = "# " + "x" * 97 + "\n"  # 100 bytes
    with huge.open("w") as handle:
        handle.write(MINIMAL + line * (MAX_FILE_BYTES // len(line)))
    os.truncate(huge, 1 << 36)
    report = _check_in_a_process(huge)
    expected_line = (MAX_FILE_BYTES - len(MINIMAL)) // len(line) + MINIMAL.count("\n") + 1
    assert report.startswith(f"{huge}:{expected_line}:"), report
    assert "SW005 The file is larger than 10 MiB; reading stopped here." in report


def test_a_file_at_the_limit_is_read_and_one_byte_more_is_not(tmp_path: Path) -> None:
    padding = "#" * (MAX_FILE_BYTES - len(MINIMAL) - 1) + "\n"
    at_limit = tmp_path / "at_limit.yaml"
    at_limit.write_text(MINIMAL + padding)
    assert check_file(at_limit).diagnostics == ()
    over = tmp_path / "over.yaml"
    over.write_text(MINIMAL + "#" + padding)
    assert [d.code for d in check_file(over).diagnostics] == ["SW005"]


def test_text_over_the_limit_is_too_large_without_being_parsed() -> None:
    checked = check_text(MINIMAL + "#" * MAX_FILE_BYTES, "big.yaml")
    assert [(d.code, d.location.line) for d in checked.diagnostics] == [("SW005", 7)]


def test_folders_report_fifos_and_dangling_links_named_like_machines(tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text(MINIMAL)
    os.mkfifo(tmp_path / "pipe.yaml")
    (tmp_path / "gone.yaml").symlink_to(tmp_path / "nowhere")
    (tmp_path / "sub.yaml").mkdir()
    assert [p.name for p in find_machine_files([tmp_path])] == ["gone.yaml", "good.yaml", "pipe.yaml"]
    with pytest.raises(DefinitionError) as refused:
        load_specs(tmp_path)
    assert sorted((Path(d.location.file).name, d.code) for d in refused.value.diagnostics) == [
        ("gone.yaml", "SW001"),
        ("pipe.yaml", "SW001"),
    ]


def test_lint_of_a_folder_holding_a_fifo_finishes_and_reports_it(tmp_path: Path) -> None:
    for machine in MACHINES.glob("*.yaml"):
        (tmp_path / machine.name).write_text(machine.read_text())
    os.mkfifo(tmp_path / "pipe.yaml")
    done = subprocess.run(
        [sys.executable, "-m", "engine", "lint", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert f"{tmp_path / 'pipe.yaml'}:1:1: SW001" in done.stdout
    assert "Traceback" not in done.stderr
