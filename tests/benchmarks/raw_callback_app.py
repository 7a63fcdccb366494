"""The baseline of ``bench_callbacks``: a bare Starlette route doing the same verification and UPDATE by hand.

Served by uvicorn as ``tests.benchmarks.raw_callback_app:build`` (a factory); reads ``BENCH_DATABASE_URL`` and
``PAYMENTS_WEBHOOK_SECRET``.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time

from sqlalchemy import create_engine, text
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

_UPDATE = text("UPDATE payments SET status = 'paid' WHERE id = :id AND status = 'awaiting'")


def build() -> Starlette:
    """The app: ``POST /callbacks/payment/settled/{key}``, Stripe-style signature, one compare-and-set UPDATE."""
    engine = create_engine(os.environ["BENCH_DATABASE_URL"])
    secret = os.environ["PAYMENTS_WEBHOOK_SECRET"].encode()

    def update(key: int) -> int:
        with engine.begin() as connection:
            return connection.execute(_UPDATE, {"id": key}).rowcount

    async def deliver(request: Request) -> JSONResponse:
        body = await request.body()
        parts = dict(
            item.split("=", 1) for item in request.headers.get("stripe-signature", "").split(",") if "=" in item
        )
        timestamp, given = parts.get("t", ""), parts.get("v1", "")
        expected = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        if (
            not timestamp.isdigit()
            or abs(time.time() - int(timestamp)) > 300
            or not hmac.compare_digest(expected, given)
        ):
            return JSONResponse({"error": "signature refused"}, status_code=401)
        moved = await run_in_threadpool(update, int(request.path_params["key"]))
        return JSONResponse(
            {"result": "moved"} if moved else {"error": "wrong state"}, status_code=200 if moved else 409
        )

    return Starlette(routes=[Route("/callbacks/payment/settled/{key}", deliver, methods=["POST"])])
