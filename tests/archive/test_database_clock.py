"""``compress --older-than`` judges by the database's clock, which wrote the history times, not by the host's."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from engine.cli import EXIT_OK
from engine.runtime.clock import now_of
from tests.archive.conftest import add_history, archive_args
from tests.conftest import run_python
from tests.work.test_sweeps import SKEWED_COMMAND


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_compress_on_a_host_three_days_ahead_leaves_an_hour_old_payload_alone(engine: Engine, tmp_path: Path) -> None:
    with engine.connect() as connection:
        an_hour_ago = now_of(connection) - timedelta(hours=1)
    add_history(engine, 3, created_at=an_hour_ago)
    done = run_python(
        "-c",
        SKEWED_COMMAND,
        "72",
        "compress",
        *archive_args(engine, f"file://{tmp_path / 'archives'}", tmp_path / "tmp"),
        "--older-than",
        "2d",
    )
    assert done.returncode == EXIT_OK, done.stdout + done.stderr
    assert "compressed 0 rows" in done.stdout
