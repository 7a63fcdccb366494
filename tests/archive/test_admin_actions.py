"""The admin page's Restore and Purge buttons on a damaged or missing archive: a flashed reason, never a 500."""

from __future__ import annotations

import html
import re

import httpx
from sqlalchemy import select

from engine.orm.tables import statuses
from tests.admin.conftest import TOKEN, Served, served  # noqa: F401 - the served fixture
from tests.archive import tampering


def _payload_row(served: Served) -> int:  # noqa: F811 - the fixture's value
    """The failed document's history row that holds a recorded payload."""
    with served.app.engine.connect() as connection:
        row_id: int = connection.scalar(
            select(statuses.c.id).where(
                statuses.c.model_id == str(served.ids["failed"]), statuses.c.payload.is_not(None)
            )
        )
    return row_id


def _press(served: Served, row_id: int, action: str) -> tuple[httpx.Response, str]:  # noqa: F811
    """Log in, press ``action`` on the row's history entry, and read the page it leads back to."""
    page = f"/m/document/o/{served.ids['failed']}"
    with httpx.Client(base_url=served.url) as client:
        assert client.post("/login", data={"token": TOKEN}, follow_redirects=False).status_code == 303
        csrf = re.search(r'name="csrf" value="([^"]+)"', client.get(page).text)
        assert csrf is not None
        pressed = client.post(
            f"/history/{row_id}/{action}", data={"csrf": csrf.group(1), "next": page}, follow_redirects=False
        )
        return pressed, html.unescape(client.get(page).text)


def test_restore_of_a_damaged_archive_flashes_the_reason(served: Served) -> None:  # noqa: F811
    row_id = _payload_row(served)
    archive = served.app.archiver
    (uri,) = archive.compress(ids=[row_id]).archives
    tampering.rewrite(archive.settings, uri, tampering.encrypted(f"{row_id}.json"))

    pressed, page = _press(served, row_id, "restore")

    assert pressed.status_code == 303, pressed.text
    assert f"history row {row_id}: {uri}: {row_id}.json is encrypted; Statewright never encrypts entries" in page
    assert "Payload archived" in page, "the row is left archived"


def test_purge_of_a_row_whose_archive_is_gone_keeps_it_and_flashes_why(served: Served) -> None:  # noqa: F811
    row_id = _payload_row(served)
    archive = served.app.archiver
    (uri,) = archive.compress(ids=[row_id]).archives
    assert archive.restore([row_id]).restored == (row_id,)
    tampering.local_path(uri).unlink()

    pressed, page = _press(served, row_id, "purge")

    assert pressed.status_code == 303, pressed.text
    assert f"history row {row_id}: kept restored, cannot read archive {uri}" in page
    assert "Payload restored from the archive" in page
