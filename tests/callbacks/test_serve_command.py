"""``statewright serve`` through the real entry point: one process or several, and a missing secret refused."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.callbacks.models import Base
from tests.callbacks.serving import MACHINE, SECRETS, awaiting_payment, build_payments_app, signer, status_of
from tests.conftest import ROOT


def _serve(database_url: str, *extra: str, env: dict[str, str]) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "engine", "serve", "--machines", str(MACHINE), "--database-url", database_url]
    return subprocess.Popen(
        [*command, "--port", "0", *extra], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


@pytest.mark.parametrize("workers", ["1", "2"])
def test_serve_receives_a_signed_callback(database_url: str, workers: str) -> None:
    app = build_payments_app(database_url)
    process = _serve(database_url, "--workers", workers, env={**os.environ, **SECRETS})
    try:
        payment = awaiting_payment(app)
        assert process.stdout is not None
        line = process.stdout.readline()
        url = re.search(r"http://[\d.]+:\d+", line)
        assert url, line
        body = json.dumps({"id": "ch_serve"}).encode()
        headers = {**signer("settled").sign(body), "Content-Type": "application/json"}
        answer = httpx.post(
            f"{url.group(0)}/callbacks/payment/stripe-settled/{payment}", content=body, headers=headers, timeout=60
        )
        assert (answer.status_code, answer.json()) == (200, {"result": "moved"})
        assert status_of(app, payment) == "paid"
    finally:
        process.terminate()
        process.communicate(timeout=30)
        Base.metadata.drop_all(app.engine)
        app.close()


def test_serve_without_a_secret_says_which_variable_in_one_line_and_exits_2(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'serve.db'}"
    build_payments_app(database_url).close()
    env = {name: value for name, value in os.environ.items() if name not in SECRETS}
    process = _serve(database_url, env={**env, "CB_TEST_GITHUB_SECRET": "x"})
    out, err = process.communicate(timeout=60)
    assert process.returncode == 2, (out, err)
    assert "CB_TEST_STRIPE_SECRET" in err
    assert len(err.strip().splitlines()) == 1, err
