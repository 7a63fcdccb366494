"""``statewright demo`` checks its machine before touching anything, keeps its database between runs, and shows
a task, an endpoint and a signed callback moving every document."""

from __future__ import annotations

import json
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
    machine = out / "document.yaml"  # the packaged machine, copied where the user can read it
    assert f"statewright admin --machines {machine} --database-url sqlite:///{database}" in second.stdout
    fresh = demo("--out", str(out), "--fresh")
    assert fresh.returncode == EXIT_OK, fresh.stdout + fresh.stderr
    assert documents_in(database) == 3


def test_every_document_is_confirmed_by_the_publishing_services_signed_callback(tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = demo("--out", str(out))
    assert done.returncode == EXIT_OK, done.stdout + done.stderr
    for kind in ("(start, task generate)", "(publish, endpoint publish)", "(confirm, callback confirmed)"):
        assert kind in " ".join(done.stdout.split()), done.stdout
    with sqlite3.connect(out / "demo.db") as connection:
        confirmations = connection.execute(
            "select model_id, from_state, to_state, payload from statuses where transition = 'confirm' order by id"
        ).fetchall()
    assert sorted(row[0] for row in confirmations) == ["1", "2", "3"]  # once each: retries after a 409 moved nothing
    for _, source, target, payload in confirmations:
        assert (source, target) == ("awaiting_confirmation", "complete")
        assert "x-signature-256" in json.loads(payload)["headers"]  # the inbound request, recorded as it came
