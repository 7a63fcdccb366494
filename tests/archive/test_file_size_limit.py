"""Files that cannot grow, without root: ``RLIMIT_FSIZE`` makes the command's writes past 16 KiB fail (``EFBIG``).

``test_outages`` mounts a small tmpfs for a real full disk, which needs root; this runs anywhere. SIGXFSZ is
ignored in the command's process, so the write fails with ``File too large`` instead of killing it.
"""

from __future__ import annotations

import base64
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from engine.cli import EXIT_OK, EXIT_UNAVAILABLE
from engine.orm.tables import statuses
from tests.archive.conftest import add_history, archive_args
from tests.conftest import ROOT

STATEWRIGHT = str(Path(sys.executable).parent / "statewright")
#: Bytes a file of the limited command may grow to.
FILE_SIZE_LIMIT = 16 * 1024


def _files_cannot_grow() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT))


def _with_payloads(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(statuses).where(statuses.c.payload.is_not(None))) or 0


# PostgreSQL: a SQLite database file would be limited too.
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_compress_whose_files_cannot_grow_says_so_in_one_line_leaves_nothing_and_a_rerun_works(
    engine: Engine, tmp_path: Path
) -> None:
    add_history(engine, 4, payload={"blob": base64.b64encode(os.urandom(30_000)).decode()})
    temp, archives = tmp_path / "tmp", tmp_path / "archives"
    command = [
        STATEWRIGHT,
        "compress",
        *archive_args(engine, f"file://{archives}", temp),
        "--older-than",
        "1d",
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    limited = subprocess.run(
        command,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        preexec_fn=_files_cannot_grow,
    )
    output = (limited.stdout + limited.stderr).strip()
    assert limited.returncode == EXIT_UNAVAILABLE, output
    assert output.splitlines() == [
        f"statewright compress: cannot use the temporary folder {temp}: File too large. "
        f"Free space there or choose another with --temp-dir / STATEWRIGHT_ARCHIVE_TEMP."
    ]
    assert list(temp.iterdir()) == [], "the half-built archive is removed"
    assert not archives.exists() or list(archives.iterdir()) == [], "nothing reached storage"
    assert _with_payloads(engine) == 4
    rerun = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert rerun.returncode == EXIT_OK, rerun.stdout + rerun.stderr
    assert _with_payloads(engine) == 0
