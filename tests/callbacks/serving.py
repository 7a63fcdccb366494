"""A Statewright app over the payment machine, its callbacks served by uvicorn on loopback."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from sqlalchemy import func, select
from starlette.types import ASGIApp

from engine import Statewright
from engine.callbacks.verification import HmacCheck
from engine.orm.tables import callback_deliveries, statuses
from engine.spec.loader import load_spec
from tests.callbacks.models import Base, Payment
from tests.conftest import free_port, fresh_tables

MACHINE = Path(__file__).parent / "machines" / "payment.yaml"
SECRETS = {"CB_TEST_STRIPE_SECRET": "whsec_test_secret", "CB_TEST_GITHUB_SECRET": "It's a Secret to Everybody"}


def signer(callback: str, secret: str | None = None) -> HmacCheck:
    """Signs bodies as the provider of ``callback`` would (with ``secret``, or the right one)."""
    spec = load_spec(MACHINE).callbacks[callback]
    assert spec.verify.__class__.__name__ == "HmacVerifier"
    env = {"settled": "CB_TEST_STRIPE_SECRET", "pushed": "CB_TEST_GITHUB_SECRET"}[callback]
    return HmacCheck(spec.verify, (secret or SECRETS[env]).encode())  # type: ignore[arg-type]


def build_payments_app(database_url: str, *, fresh: bool = True, hooks: tuple[object, ...] = ()) -> Statewright:
    """The app over the payment machine; ``fresh`` drops and creates the tables."""
    app = Statewright([load_spec(MACHINE)], database_url=database_url, hooks=hooks)  # type: ignore[arg-type]
    if fresh:
        fresh_tables(app.engine, Base.metadata)
    return app


def awaiting_payment(app: Statewright) -> int:
    """A new payment moved to ``awaiting``; returns its id."""
    with app.sessionmaker() as session:
        payment = Payment(amount=100)
        session.add(payment)
        session.commit()
        app.fire(payment, "charge")
        return payment.id


def counts(app: Statewright, payment_id: int) -> tuple[int, int]:
    """(history rows of the payment, delivery rows) now."""
    with app.engine.connect() as connection:
        history = connection.scalar(
            select(func.count()).select_from(statuses).where(statuses.c.model_id == str(payment_id))
        )
        deliveries = connection.scalar(select(func.count()).select_from(callback_deliveries))
    return int(history or 0), int(deliveries or 0)


def status_of(app: Statewright, payment_id: int) -> str:
    with app.engine.connect() as connection:
        value = connection.scalar(select(Payment.__table__.c.status).where(Payment.__table__.c.id == payment_id))
    return str(value)


@contextmanager
def run_server(asgi: ASGIApp) -> Iterator[str]:
    """Serve ``asgi`` with uvicorn on a free loopback port; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(asgi, host="127.0.0.1", port=port, log_level="critical"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the callback server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)
