"""The longest timeout lint accepts works where timeouts are used: ``statewright sweep`` computes
``now - timeout`` for it on SQLite and PostgreSQL without overflowing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import create_engine

from engine import Statewright
from engine.cli import EXIT_OK, main
from engine.migrations.upgrade import upgrade
from engine.runtime.sweeps import stuck_query
from engine.spec import check_file
from engine.spec.durations import MAX_DURATION
from tests.work.app.models import JobBase
from tests.work.conftest import MACHINES


def _job_machine_with_longest_timeout(folder: Path) -> Path:
    text = (MACHINES / "job.yaml").read_text()
    longest = text.replace("timeout: {after: 1h, to: failed}", f"timeout: {{after: {MAX_DURATION.days}d, to: failed}}")
    assert longest != text
    (folder / "job.yaml").write_text(longest)
    return folder


def test_the_sweep_handles_the_longest_timeout_lint_accepts(tmp_path: Path, database_url: str) -> None:
    machines = _job_machine_with_longest_timeout(tmp_path)
    assert check_file(machines / "job.yaml").diagnostics == ()
    engine = create_engine(database_url)
    upgrade(engine)
    JobBase.metadata.create_all(engine)
    engine.dispose()
    done = CliRunner().invoke(
        main, ["sweep", "--no-outbox", "--machines", str(machines), "--database-url", database_url]
    )
    assert done.exit_code == EXIT_OK, done.output
    assert "job: 0 moved past their timeout" in done.output
    app = Statewright.from_path(machines, database_url=database_url)
    try:
        with app.sessionmaker() as session:
            assert session.scalars(stuck_query(app.flows["job"], "running", datetime.now(UTC))).all() == []
    finally:
        app.close()
