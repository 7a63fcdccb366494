"""``statewright demo`` checks its machine before touching anything and keeps its database between runs."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from engine.cli import EXIT_OK, EXIT_PROBLEMS
from tests.conftest import ROOT


def demo(*args: str) -> subprocess.CompletedProcess[str]:
    script = shutil.which("statewright", path=str(Path(sys.executable).parent))
    assert script is not None
    return subprocess.run(
        [script, "demo", "--documents", "3", *args], cwd=ROOT, capture_output=True, text=True, check=False, timeout=300
    )


def documents_in(database: Path) -> int:
    with sqlite3.connect(database) as connection:
        count: int = connection.execute("select count(*) from documents").fetchone()[0]
    return count


def test_an_invalid_machine_leaves_the_previous_demo_database_alone(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "demo.db").write_bytes(b"previous demo data")
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [\n")
    done = demo("--out", str(out), "--machine", str(broken))
    assert done.returncode == EXIT_PROBLEMS
    assert "SW002" in done.stderr
    assert "Traceback" not in done.stderr
    assert (out / "demo.db").read_bytes() == b"previous demo data"


def test_runs_add_to_the_database_until_fresh_starts_over_and_say_how_to_open_it(tmp_path: Path) -> None:
    out = tmp_path / "out"
    database = out.resolve() / "demo.db"
    first = demo("--out", str(out))
    assert first.returncode == EXIT_OK, first.stdout + first.stderr
    second = demo("--out", str(out))
    assert second.returncode == EXIT_OK, second.stdout + second.stderr
    assert documents_in(database) == 6
    assert f"Database: {database}" in second.stdout
    assert f"statewright admin --machines machines/document.yaml --database-url sqlite:///{database}" in second.stdout
    fresh = demo("--out", str(out), "--fresh")
    assert fresh.returncode == EXIT_OK, fresh.stdout + fresh.stderr
    assert documents_in(database) == 3
