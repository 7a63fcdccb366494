"""An admin page over the document machine, served by uvicorn on loopback, with a few objects in it."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, Playwright, Route, expect, sync_playwright
from starlette.types import ASGIApp

from engine import Statewright
from engine.admin import build_admin
from engine.archive import ArchiveSettings
from examples.base import Base
from examples.documents.models import Document
from examples.orders.models import Order
from tests.conftest import ROOT, free_port, fresh_tables

TOKEN = "test-token-4f1c-9a2e"
#: Screenshots of the browser tests land here (kept out of git).
SCREENSHOTS = ROOT / "test-output" / "admin"


@dataclass
class Served:
    """The running admin page and the app behind it."""

    app: Statewright
    url: str
    ids: dict[str, int]


def _documents(app: Statewright) -> dict[str, int]:
    """Queued documents, one failed with a recorded payload and exception, one stuck in processing."""
    with app.sessionmaker() as session:
        documents = [Document(title=f"document {n}") for n in range(6)]
        session.add_all(documents)
        session.commit()
        failed, processing = documents[4], documents[5]
        failed.set_status("processing")
        failed.set_status(
            "error",
            payload={"request": {"url": "https://api.example.com/x", "body": "hello"}},
            exception=RuntimeError("the service said no"),
        )
        processing.set_status("processing", payload={"worker": "w-1"})
        return {"queued": documents[0].id, "failed": failed.id, "processing": processing.id}


def fresh_app(machine: str, database_url: str, tmp_path: Path) -> Statewright:
    """A Statewright over one shipped machine, with fresh tables."""
    settings = ArchiveSettings(uri=f"file://{tmp_path / 'archives'}", temp_dir=tmp_path / "building")
    app = Statewright.from_path(
        ROOT / "machines" / f"{machine}.yaml", database_url=database_url, archive_settings=settings
    )
    fresh_tables(app.engine, Base.metadata)
    return app


@contextmanager
def run_server(asgi: ASGIApp) -> Iterator[str]:
    """Serve ``asgi`` with uvicorn on a free loopback port; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(asgi, host="127.0.0.1", port=port, log_level="critical"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the admin server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)


@contextmanager
def serve_admin(app: Statewright, ids: dict[str, int]) -> Iterator[Served]:
    """The admin page of ``app`` served on loopback; the tables are dropped afterwards."""
    try:
        with run_server(build_admin(app, token=TOKEN)) as url:
            yield Served(app, url, ids)
    finally:
        Base.metadata.drop_all(app.engine)
        app.close()


@pytest.fixture
def served(database_url: str, tmp_path: Path) -> Iterator[Served]:
    app = fresh_app("document", database_url, tmp_path)
    with serve_admin(app, _documents(app)) as running:
        yield running


@pytest.fixture
def orders(database_url: str, tmp_path: Path) -> Iterator[Served]:
    """The order machine (string status values) with three pending orders."""
    app = fresh_app("order", database_url, tmp_path)
    with app.sessionmaker() as session:
        orders = [Order(total_amount=Decimal("10.00")) for _ in range(3)]
        session.add_all(orders)
        session.commit()
        ids = {"spoiled": orders[0].id, "pending": orders[1].id, "other": orders[2].id}
    with serve_admin(app, ids) as running:
        yield running


# The browser: one Playwright driver and one Chromium per test module. Not per session: the sync driver keeps
# an asyncio loop running in the main thread while it lives, so a later test calling asyncio.run() would fail.
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
#: Flags for a root, offline, headless Chromium (see the env notes: without them it dials out and waits).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    assert shutil.which(CHROMIUM) or CHROMIUM, "Debian's chromium is required (apt-get install chromium)"
    launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    yield launched
    launched.close()


@pytest.fixture
def page(browser: Browser, served: Served, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A logged-in page that may fetch nothing but the admin server; the test fails if it tried."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    outside: list[str] = []

    def only_local(route: Route) -> None:
        if route.request.url.startswith(served.url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_local)
    opened = context.new_page()
    refused: list[str] = []
    opened.on(
        "console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text else None
    )
    opened.goto(f"{served.url}/login?token={TOKEN}")
    expect(opened).to_have_url(f"{served.url}/")  # the token does not stay in the address bar
    yield opened
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    opened.screenshot(path=str(SCREENSHOTS / f"{request.node.name}.png"), full_page=True)
    context.close()
    assert outside == [], f"the page tried to reach the internet: {outside}"
    assert refused == [], f"the Content-Security-Policy blocked part of the page: {refused}"
