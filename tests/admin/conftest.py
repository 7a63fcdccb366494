"""An admin page over the document machine, served by uvicorn on loopback, with a few objects in it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import text

from engine import Statewright
from engine.admin import build_admin
from engine.archive import ArchiveSettings
from engine.migrations.upgrade import upgrade
from examples.base import Base
from examples.documents.models import Document
from tests.conftest import ROOT, free_port

TOKEN = "test-token-4f1c"
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
    with app.session() as session:
        documents = [Document(title=f"document {n}") for n in range(6)]
        session.add_all(documents)
        session.commit()
        failed, processing = documents[4], documents[5]
        failed.set_status("processing")
        failed.set_status("error", payload={"request": {"url": "https://api.example.com/x", "body": "hello"}},
                          exception=RuntimeError("the service said no"))
        processing.set_status("processing", payload={"worker": "w-1"})
        return {"queued": documents[0].id, "failed": failed.id, "processing": processing.id}


@pytest.fixture
def served(database_url: str, tmp_path: Path) -> Iterator[Served]:
    settings = ArchiveSettings(uri=f"file://{tmp_path / 'archives'}", temp_dir=tmp_path / "building")
    app = Statewright.from_path(ROOT / "machines" / "document.yaml", database_url=database_url, archive=settings)
    with app.engine.begin() as connection:
        for table in ("statewright_failures", "statewright_outbox", "statuses", "statewright_alembic_version"):
            connection.execute(text(f"DROP TABLE IF EXISTS {table}"))
    Base.metadata.drop_all(app.engine)
    upgrade(app.engine)
    Base.metadata.create_all(app.engine)
    ids = _documents(app)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(build_admin(app, token=TOKEN), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the admin server did not start"
        time.sleep(0.05)
    yield Served(app, f"http://127.0.0.1:{port}", ids)
    server.should_exit = True
    thread.join(timeout=20)
    Base.metadata.drop_all(app.engine)
    app.close()
