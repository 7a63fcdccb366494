"""Compress runs killed at random moments, and several runs at once: no payload lost, none archived twice."""

from __future__ import annotations

import io
import json
import os
import random
import signal
import subprocess
import sys
import time
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from engine.archive import Archiver, ArchiveSettings
from engine.archive.storage import Storage
from engine.orm.tables import statuses
from tests.archive.conftest import BUCKET, add_history, archive_args, s3_client, sample_payload
from tests.conftest import ROOT

STATEWRIGHT = str(Path(sys.executable).parent / "statewright")


def _compress_command(engine: Engine, settings: ArchiveSettings, batch: int) -> list[str]:
    command = [
        STATEWRIGHT,
        "compress",
        *archive_args(engine, settings.uri, settings.temp_path),
        "--batch",
        str(batch),
        "--older-than",
        "1d",
    ]
    if settings.s3_endpoint_url:
        command += ["--s3-endpoint-url", settings.s3_endpoint_url, "--s3-path-style"]
    return command


def _archives(settings: ArchiveSettings) -> list[str]:
    """URIs of every archive in storage, referenced or not."""
    if settings.uri.startswith("file://"):
        folder = Path(settings.uri.removeprefix("file://"))
        return [f"file://{path}" for path in sorted(folder.glob("*.zip"))]
    assert settings.s3_endpoint_url is not None
    prefix = settings.uri.removeprefix(f"s3://{BUCKET}/")
    listed = s3_client(settings.s3_endpoint_url).list_objects_v2(Bucket=BUCKET, Prefix=f"{prefix}/")
    return [f"s3://{BUCKET}/{item['Key']}" for item in listed.get("Contents", [])]


def _manifest_row_ids(settings: ArchiveSettings, uri: str) -> list[int]:
    local = settings.temp_path / "manifest-check.zip"
    settings.temp_path.mkdir(parents=True, exist_ok=True)
    Storage(settings).fetch(uri, local)
    with zipfile.ZipFile(io.BytesIO(local.read_bytes())) as archive:
        return [entry["row_id"] for entry in json.loads(archive.read("manifest.json"))["entries"]]


def _assert_every_payload_is_archived_once_and_restorable(
    engine: Engine, settings: ArchiveSettings, ids: list[int], expected: dict[int, Any] | None = None
) -> None:
    with engine.connect() as connection:
        rows = {
            row.id: row for row in connection.execute(select(statuses.c.id, statuses.c.payload, statuses.c.archive_uri))
        }
    assert all(rows[row_id].payload is None and rows[row_id].archive_uri is not None for row_id in ids)
    referenced = {rows[row_id].archive_uri for row_id in ids}
    for uri in referenced:
        in_archive = _manifest_row_ids(settings, uri)
        assert {row_id for row_id in ids if rows[row_id].archive_uri == uri} == set(in_archive)
    result = Archiver(engine, settings).restore(ids)
    assert result.failed == {}
    assert len(result.restored) == len(ids)
    with engine.connect() as connection:
        restored = dict(connection.execute(select(statuses.c.id, statuses.c.payload)).all())
    expected = expected if expected is not None else {row_id: sample_payload(n) for n, row_id in enumerate(ids)}
    assert all(restored[row_id] == expected[row_id] for row_id in ids), "every payload came back"


def _archived(engine: Engine) -> int:
    with engine.connect() as connection:
        return (
            connection.scalar(select(func.count()).select_from(statuses).where(statuses.c.archive_uri.is_not(None)))
            or 0
        )


def _lost(engine: Engine) -> int:
    """Rows whose payload is neither in the row nor recorded as archived."""
    with engine.connect() as connection:
        return (
            connection.scalar(
                select(func.count())
                .select_from(statuses)
                .where(statuses.c.payload.is_(None), statuses.c.archive_uri.is_(None))
            )
            or 0
        )


def test_compress_killed_at_random_moments_loses_nothing_and_a_rerun_finishes(
    engine: Engine, settings: ArchiveSettings
) -> None:
    """Five runs SIGKILLed, each mid-run after a commit of its own; then a run that also deletes their orphans."""
    expected: dict[int, Any] = {}

    def add(count: int) -> None:
        expected.update({row_id: sample_payload(n) for n, row_id in enumerate(add_history(engine, count))})

    add(3000)
    command = _compress_command(engine, settings, batch=20)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    chance = random.Random(1234)
    kills = runs = 0
    while kills < 5:
        runs += 1
        assert runs <= 30, "the runs kept finishing before they could be killed: the test proved nothing"
        if _archived(engine) == len(expected):
            add(1000)  # a fast machine archived everything: give the next run work to be killed in
        before = _archived(engine)
        run = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        # Once this run has committed a batch, kill it somewhere inside a later one.
        deadline = time.monotonic() + 60
        while _archived(engine) == before and run.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(chance.uniform(0, 0.1))
        if run.poll() is not None:
            continue
        os.killpg(run.pid, signal.SIGKILL)
        run.wait(timeout=30)
        kills += 1
        assert _lost(engine) == 0, "a killed run lost no payload"
    finished = subprocess.run(
        [*command, "--gc-grace", "0s"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert "Traceback" not in finished.stderr
    ids = sorted(expected)
    _assert_every_payload_is_archived_once_and_restorable(engine, settings, ids, expected)
    with engine.connect() as connection:
        referenced = set(
            connection.scalars(select(statuses.c.archive_uri).distinct().where(statuses.c.archive_uri.is_not(None)))
        )
    assert set(_archives(settings)) == referenced, "the killed runs' orphaned archives were deleted, nothing else"


def test_concurrent_runs_never_archive_a_row_twice(engine: Engine, settings: ArchiveSettings) -> None:
    ids = add_history(engine, 600)
    command = _compress_command(engine, settings, batch=10)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    runs = [
        subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _ in range(4)
    ]
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0, 0], outputs
    compressed = sum(int(output.split("compressed ")[1].split(" rows")[0]) for output in outputs)
    assert compressed == len(ids), outputs
    every_entry = [row_id for uri in _archives(settings) for row_id in _manifest_row_ids(settings, uri)]
    assert sorted(every_entry) == sorted(ids), "each row is in exactly one archive"
    with engine.connect() as connection:
        assert (
            connection.scalar(select(func.count()).select_from(statuses).where(statuses.c.archive_uri.is_(None))) == 0
        )
    _assert_every_payload_is_archived_once_and_restorable(engine, settings, ids)


def test_collecting_orphans_while_runs_compress_never_loses_a_referenced_archive(
    engine: Engine, settings: ArchiveSettings
) -> None:
    """Orphan collection with no grace at all, over and over, while three runs compress: the fence alone is safe."""
    ids = add_history(engine, 600)
    command = [*_compress_command(engine, settings, batch=10), "--no-gc"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    runs = [
        subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _ in range(3)
    ]
    collector = Archiver(engine, settings)
    collected: list[str] = []
    passes = 0
    while any(run.poll() is None for run in runs):
        collected += collector.collect_orphans(grace=timedelta(0))
        passes += 1
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0], outputs
    assert passes > 1, "collection ran while the runs were compressing"
    assert collected == [], "no run died, so no archive was an orphan"
    _assert_every_payload_is_archived_once_and_restorable(engine, settings, ids)
