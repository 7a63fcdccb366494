"""Benchmark of ``compress`` against writing the same payloads into a ZIP with plain ``zipfile``.

Statewright's side reads the rows from the database, writes the archive with its manifest in the
temporary folder, copies it to the archive folder, reads the copy back to check its SHA-256, and
records every row's archive, entry and checksum. The baseline only serializes the payloads it already
holds and writes them into one ZIP on the same disk. Both use DEFLATE; the two sides alternate.

    .venv/bin/python -m tests.benchmarks.bench_archive [--rows 20000] [--runs 5] [--database-url URL]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, text

from engine.archive import Archiver, ArchiveSettings
from engine.db import make_engine
from engine.migrations.upgrade import upgrade
from engine.orm.tables import statuses
from tests.benchmarks.table import Result, render
from tests.conftest import STATEWRIGHT_TABLES

DEFAULT_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def payload(n: int) -> dict[str, Any]:
    """A recorded endpoint call of about 1.5 kB, as history rows hold them."""
    return {
        "request": {
            "method": "POST",
            "url": f"https://api.example.com/documents/{n}",
            "headers": {
                "content-type": "application/json",
                "authorization": "***",
                "idempotency-key": f"statewright-{n}",
            },
            "body": {"id": n, "title": f"Document {n}", "text": "lorem ipsum dolor sit amet " * 30},
        },
        "response": {
            "status": 200,
            "elapsed_ms": 12.5,
            "headers": {"content-type": "application/json"},
            "body": {"accepted": True, "ref": f"ref-{n:08d}", "pages": n % 17},
        },
    }


def _fill(engine: Engine, rows: int) -> None:
    with engine.begin() as connection:
        for table in STATEWRIGHT_TABLES:
            connection.execute(text(f"DROP TABLE IF EXISTS {table}"))
    upgrade(engine)
    created = datetime.now(UTC) - timedelta(days=3)
    with engine.begin() as connection:
        connection.execute(
            insert(statuses),
            [
                {
                    "machine": "document",
                    "model_type": "bench",
                    "model_id": str(n),
                    "from_state": "a",
                    "to_state": "b",
                    "transition": "go",
                    "payload": payload(n),
                    "created_at": created,
                }
                for n in range(rows)
            ],
        )


def ours(engine: Engine, rows: int, folder: Path) -> float:
    """Rows per second through ``Archiver.compress`` into a local archive folder."""
    _fill(engine, rows)
    archiver = Archiver(engine, ArchiveSettings(uri=f"file://{folder / 'archives'}", temp_dir=folder / "tmp"))
    start = time.perf_counter()
    result = archiver.compress()
    elapsed = time.perf_counter() - start
    assert result.rows == rows, result
    return rows / elapsed


def plain(rows: int, folder: Path) -> float:
    """Rows per second serializing the payloads and writing them into ZIPs of the same size with ``zipfile``."""
    payloads = [payload(n) for n in range(rows)]
    start = time.perf_counter()
    for first in range(0, rows, 1000):
        with zipfile.ZipFile(folder / f"plain-{first}.zip", "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for n in range(first, min(first + 1000, rows)):
                archive.writestr(f"{n}.json", json.dumps(payloads[n]).encode())
    return rows / (time.perf_counter() - start)


def measure(database_url: str, rows: int, runs: int) -> tuple[list[float], list[float]]:
    """Rows/s of each run: (statewright compress, plain zipfile), alternating."""
    engine = make_engine(database_url)
    mine: list[float] = []
    theirs: list[float] = []
    try:
        for _ in range(runs):
            with tempfile.TemporaryDirectory() as folder:
                theirs.append(plain(rows, Path(folder)))
            with tempfile.TemporaryDirectory() as folder:
                mine.append(ours(engine, rows, Path(folder)))
    finally:
        engine.dispose()
    return mine, theirs


def results(*, rows: int = 20000, runs: int = 5, database_urls: tuple[str, ...] = (DEFAULT_DATABASE,)) -> list[Result]:
    """Compress against plain zipfile, for each database."""
    measured = []
    for url in database_urls:
        mine, theirs = measure(url, rows, runs)
        name = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
        measured.append(
            Result(
                f"compress {rows} payloads of ~1.5 kB into local ZIPs, {name}, median of {runs}",
                "plain zipfile, same payloads",
                statistics.median(mine),
                statistics.median(theirs),
                "rows/s",
                higher_is_better=True,
                bar=0.5,
            )
        )
    return measured


def main(argv: list[str] | None = None) -> None:
    """Alternate the two sides and print rows/s and the ratio of the medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--database-url", default=DEFAULT_DATABASE)
    args = parser.parse_args(argv)
    print(render(results(rows=args.rows, runs=args.runs, database_urls=(args.database_url,))))


if __name__ == "__main__":
    main()
