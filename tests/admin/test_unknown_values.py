"""A status value no state declares (someone wrote 99) is shown as such on every page; the rest still lists."""

from __future__ import annotations

import re

import httpx
from markupsafe import escape
from sqlalchemy import update

from examples.documents.models import Document
from examples.orders.models import Order
from tests.admin.conftest import TOKEN, Served


def _write_status(served: Served, model: type, object_id: int, value: object) -> None:
    table = model.__table__  # type: ignore[attr-defined]
    with served.app.engine.begin() as connection:
        connection.execute(update(table).where(table.c.id == object_id).values(status=value))


def _shows(page: str, label: str) -> bool:
    """HTML escapes the quotes of a string value; SVG text may not."""
    return label in page or str(escape(label)) in page


def _pages_show_the_unknown_value(served: Served, machine: str, spoiled: int, label: str, others: list[int]) -> None:
    with httpx.Client(base_url=served.url) as client:
        assert client.post("/login", data={"token": TOKEN}).status_code == 303
        index = client.get("/")
        assert index.status_code == 200
        assert _shows(index.text, label)
        listing = client.get(f"/m/{machine}")
        assert listing.status_code == 200
        badge = rf'<span class="badge unknown"[^>]*>{re.escape(str(escape(label)))}</span>'
        assert re.search(rf">{spoiled}</a></td>\s*<td>{badge}", listing.text)
        for other in others:
            assert f">{other}</a>" in listing.text, "everything else is still listed"
        assert _shows(listing.text, f"1 with {label}")
        only = client.get(f"/m/{machine}", params={"status": "-unknown"})
        assert only.status_code == 200
        assert f">{spoiled}</a>" in only.text
        assert all(f">{other}</a>" not in only.text for other in others)
        assert "unknown values (1)" in only.text
        page = client.get(f"/m/{machine}/o/{spoiled}")
        assert page.status_code == 200
        assert _shows(page.text, label)
        assert "which no state of the machine stores" in page.text
        assert 'name="fire"' not in page.text
        metrics = client.get(f"/m/{machine}/metrics")
        assert metrics.status_code == 200
        assert _shows(metrics.text, label)
        diagram = client.get(f"/m/{machine}/diagram")
        assert diagram.status_code == 200
        assert _shows(diagram.text, label)
        with client.stream("GET", f"/m/{machine}/events") as stream:
            for line in stream.iter_lines():
                if line.startswith("data:"):
                    assert f'"{label}": 1' in line
                    break
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf is not None
        fired = client.post(
            f"/m/{machine}/o/{spoiled}/defibrillate", data={"csrf": csrf.group(1)}, follow_redirects=True
        )
        assert fired.status_code == 200
        assert "refused: its status column holds" in fired.text


def test_an_integer_value_no_state_declares_is_shown_on_every_page(served: Served) -> None:
    spoiled = served.ids["queued"]
    _write_status(served, Document, spoiled, 99)
    _pages_show_the_unknown_value(
        served, "document", spoiled, "unknown value 99", [served.ids["failed"], served.ids["processing"]]
    )


def test_a_string_value_no_state_declares_is_shown_on_every_page(orders: Served) -> None:
    _write_status(orders, Order, orders.ids["spoiled"], "lost")
    _pages_show_the_unknown_value(
        orders, "order", orders.ids["spoiled"], "unknown value 'lost'", [orders.ids["pending"], orders.ids["other"]]
    )


def test_defibrillating_the_whole_list_skips_an_unknown_value_and_restarts_the_rest(served: Served) -> None:
    _write_status(served, Document, served.ids["queued"], 99)
    with httpx.Client(base_url=served.url) as client:
        assert client.post("/login", data={"token": TOKEN}).status_code == 303
        page = client.get("/m/document").text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page)
        assert csrf is not None
        done = client.post("/m/document/defibrillate", data={"csrf": csrf.group(1)}, follow_redirects=True)
    assert "document: 1 defibrillated, 0 had moved on, 1 skipped (status value unknown to the machine)" in done.text
