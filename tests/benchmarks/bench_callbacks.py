"""Signed callbacks accepted per second through ``statewright serve``, against a bare Starlette route doing the
same signature check and compare-and-set UPDATE (``raw_callback_app``), on one PostgreSQL, in the same run.

Each side is its own server process on loopback (one worker), fed by ``CLIENTS`` threads, each delivery to a
different payment waiting in ``awaiting``; every answer must be 200. The sides alternate, ``runs`` times.

    .venv/bin/python -m tests.benchmarks.bench_callbacks [--deliveries 2000] [--runs 3] [--postgres URL]
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import httpx
from sqlalchemy import insert, text

from engine import Statewright
from engine.migrations.upgrade import upgrade
from examples.base import Base
from examples.payments.models import Payment
from tests.benchmarks.bench_runtime import DEFAULT_POSTGRES
from tests.benchmarks.table import Result, render
from tests.conftest import ROOT, STATEWRIGHT_TABLES, free_port

MACHINE = ROOT / "examples" / "payments" / "payment.yaml"
SECRET = "whsec_bench"
#: Concurrent senders, as a provider retrying in parallel would be.
CLIENTS = 8


def _prepare(url: str, count: int) -> list[int]:
    """Fresh tables and ``count`` payments in ``awaiting`` (written directly: only the callbacks are measured)."""
    app = Statewright.from_path(MACHINE, database_url=url)
    try:
        with app.engine.begin() as connection:
            for table in (*STATEWRIGHT_TABLES, "payments"):
                connection.execute(text(f"DROP TABLE IF EXISTS {table}"))
        upgrade(app.engine)
        Base.metadata.create_all(app.engine, tables=[Payment.__table__])  # type: ignore[list-item]
        with app.engine.begin() as connection:
            connection.execute(insert(Payment.__table__), [{"status": "awaiting", "amount": 1} for _ in range(count)])  # type: ignore[arg-type]
            return [row[0] for row in connection.execute(text("SELECT id FROM payments ORDER BY id"))]
    finally:
        app.close()


@contextmanager
def _server(command: list[str], env: dict[str, str], port: int) -> Iterator[str]:
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"server did not start: {process.communicate()[1]}") from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.communicate(timeout=30)


def _signed(key: int) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"type": "charge.succeeded", "charge": f"ch_{key}"}).encode()
    stamp = int(time.time())
    digest = hmac.new(SECRET.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    headers = {"Stripe-Signature": f"t={stamp},v1={digest}", "Stripe-Event-Id": f"evt_{key}"}
    return body, {**headers, "Content-Type": "application/json"}


def _send_all(url: str, keys: list[int]) -> float:
    """Deliveries per second; every one must be answered 200."""
    with httpx.Client(timeout=60, limits=httpx.Limits(max_connections=CLIENTS)) as client:

        def send(key: int) -> int:
            body, headers = _signed(key)
            return client.post(f"{url}/callbacks/payment/settled/{key}", content=body, headers=headers).status_code

        start = time.perf_counter()
        with ThreadPoolExecutor(CLIENTS) as pool:
            codes = list(pool.map(send, keys))
        elapsed = time.perf_counter() - start
    assert set(codes) == {200}, sorted(set(codes))
    return len(keys) / elapsed


def _side(name: str, url: str, count: int) -> float:
    keys = _prepare(url, count)
    env = {**os.environ, "PAYMENTS_WEBHOOK_SECRET": SECRET, "BENCH_DATABASE_URL": url}
    port = free_port()
    if name == "statewright":
        command = [sys.executable, "-m", "engine", "serve", "--machines", str(MACHINE), "--database-url", url]
        command += ["--port", str(port), "--log-level", "WARNING"]
    else:
        command = [sys.executable, "-m", "uvicorn", "--factory", "tests.benchmarks.raw_callback_app:build"]
        command += ["--port", str(port), "--log-level", "warning"]
    with _server(command, env, port) as served:
        return _send_all(served, keys)


def measure(postgres: str, deliveries: int, runs: int) -> dict[str, list[float]]:
    """Deliveries/s of each run, per side (alternating)."""
    rates: dict[str, list[float]] = {"statewright": [], "bare": []}
    for _ in range(runs):
        for side in rates:
            rates[side].append(_side(side, postgres, deliveries))
    return rates


def results(*, deliveries: int = 2000, runs: int = 3, postgres: str = DEFAULT_POSTGRES) -> list[Result]:
    """The one row: ``statewright serve`` against the bare route."""
    rates = measure(postgres, deliveries, runs)
    return [
        Result(
            f"signed callbacks accepted/s through `statewright serve`, PostgreSQL, {CLIENTS} senders, "
            f"median of {runs} × {deliveries}",
            "a bare Starlette route: same signature check and UPDATE",
            statistics.median(rates["statewright"]),
            statistics.median(rates["bare"]),
            "deliveries/s",
            higher_is_better=True,
            bar=0.8,
        )
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    args = parser.parse_args(argv)
    print(render(results(deliveries=args.deliveries, runs=args.runs, postgres=args.postgres)))


if __name__ == "__main__":
    main()
