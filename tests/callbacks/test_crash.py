"""A server that dies between the commit and the answer: the provider's retry is a 200 that changes nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.callbacks.crashing_server import CRASHED
from tests.callbacks.models import Base
from tests.callbacks.serving import SECRETS, awaiting_payment, build_payments_app, counts, signer, status_of
from tests.conftest import ROOT, free_port


@contextmanager
def server_process(database_url: str, marker: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """The crashing server in a process of its own; yields its URL once it accepts connections."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.callbacks.crashing_server", database_url, str(port), str(marker)],
        cwd=ROOT,
        env={**os.environ, **SECRETS},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{url}/", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None, "the server process ended before listening"
                assert time.monotonic() < deadline, "the server process did not listen"
                time.sleep(0.1)
        yield url, process
    finally:
        if process.poll() is None:
            process.terminate()
        process.wait(timeout=30)


def test_a_retry_after_a_crash_between_commit_and_answer_is_200_without_a_second_move(
    database_url: str, tmp_path: Path
) -> None:
    app = build_payments_app(database_url)
    try:
        payment = awaiting_payment(app)
        before, _ = counts(app, payment)
        body = json.dumps({"id": "ch_crash"}).encode()
        headers = {**signer("settled").sign(body), "Stripe-Event-Id": "evt_crash", "Content-Type": "application/json"}
        path = f"/callbacks/payment/stripe-settled/{payment}"
        marker = tmp_path / "crash-once"
        marker.touch()
        with server_process(database_url, marker) as (url, process):
            with pytest.raises(httpx.TransportError):
                httpx.post(url + path, content=body, headers=headers, timeout=30)
            assert process.wait(timeout=30) == CRASHED
        assert status_of(app, payment) == "paid"
        assert counts(app, payment) == (before + 1, 1)
        with server_process(database_url, marker) as (url, _):
            retry = httpx.post(url + path, content=body, headers=headers, timeout=30)
        assert (retry.status_code, retry.json()) == (200, {"result": "already processed"})
        assert counts(app, payment) == (before + 1, 1)
    finally:
        Base.metadata.drop_all(app.engine)
        app.close()
