"""The benchmark script runs end to end on a tiny input (its numbers are not asserted: speed is measured by
running the script, not by unit tests)."""

from __future__ import annotations

import pytest

from engine.spec import check_text
from tests.benchmarks import bench_lint
from tests.benchmarks.machines import machine_text


def test_generated_benchmark_machines_are_valid() -> None:
    checked = check_text(machine_text(7, states=20), "bench.yaml")
    assert checked.diagnostics == ()
    assert checked.spec is not None
    assert len(checked.spec.states) == 20


def test_the_lint_benchmark_runs_both_tools_and_reports_a_ratio() -> None:
    result = bench_lint.run(files=3, states=8, runs=1)
    assert set(result) == {"statewright", "check-jsonschema", "ratio"}
    assert result["ratio"] > 0


def test_the_runtime_benchmark_runs_against_sqlite_and_postgresql(
        capsys: pytest.CaptureFixture[str], postgres_url: str) -> None:
    from tests.benchmarks import bench_runtime

    bench_runtime.main(["--changes", "5", "--moves", "50", "--repeat", "1", "--postgres", postgres_url])
    output = capsys.readouterr().out
    assert "decide + apply vs transitions trigger" in output
    assert "SQLite (file, WAL)" in output
    assert "PostgreSQL" in output


def test_the_end_to_end_benchmark_runs_both_sides(postgres_url: str) -> None:
    """Run as its own process: the raw side sets Dramatiq's global broker, which this process must not."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    done = subprocess.run([sys.executable, "-m", "tests.benchmarks.bench_work", "--objects", "10", "--runs", "1",
                           "--database-url", postgres_url, "--broker-url", "redis://127.0.0.1:6379/13"],
                          cwd=ROOT, capture_output=True, text=True, check=False, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "statewright worker" in done.stdout
    assert "raw dramatiq actor" in done.stdout


def test_the_archive_benchmark_runs_both_sides(capsys: pytest.CaptureFixture[str], postgres_url: str) -> None:
    from tests.benchmarks import bench_archive

    bench_archive.main(["--rows", "30", "--runs", "1", "--database-url", postgres_url])
    output = capsys.readouterr().out
    assert "statewright compress" in output
    assert "plain zipfile" in output
    assert "ratio" in output
