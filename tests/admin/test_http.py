"""The admin page over plain HTTP: access control, CSRF, and what each page shows."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from tests.admin.conftest import TOKEN, Served


@contextmanager
def _logged_in(served: Served) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served.url, follow_redirects=False) as client:
        response = client.post("/login", data={"token": TOKEN})
        assert response.status_code == 303
        yield client


def _csrf(page: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match is not None
    return match.group(1)


def test_nothing_is_shown_or_done_without_logging_in(served: Served) -> None:
    with httpx.Client(base_url=served.url) as client:
        assert client.get("/").status_code == 303
        assert client.get("/m/document").headers["location"].endswith("/login")
        assert client.post(f"/m/document/o/{served.ids['failed']}/defibrillate").status_code == 401
        wrong = client.post("/login", data={"token": "guess"})
        assert wrong.status_code == 403
        assert "That token is not right." in wrong.text


def test_an_action_without_the_csrf_token_is_refused_and_changes_nothing(served: Served) -> None:
    with _logged_in(served) as client:
        failed = served.ids["failed"]
        refused = client.post(f"/m/document/o/{failed}/defibrillate", data={"csrf": "forged"})
        assert refused.status_code == 403
        assert "error" in client.get(f"/m/document/o/{failed}").text
        page = client.get(f"/m/document/o/{failed}").text
        done = client.post(f"/m/document/o/{failed}/defibrillate", data={"csrf": _csrf(page)})
        assert done.status_code == 303
        with served.app.sessionmaker() as session:
            from examples.documents.models import Document

            assert session.get_one(Document, failed).status.state == "queued"


def test_pages_render(served: Served) -> None:
    with _logged_in(served) as client:
        index = client.get("/")
        assert index.status_code == 200
        assert "document" in index.text
        listing = client.get("/m/document", params={"status": "error"})
        assert f">{served.ids['failed']}</a>" in listing.text
        assert f">{served.ids['queued']}</a>" not in listing.text
        assert client.get("/m/document", params={"status": "nope"}).status_code == 400
        assert client.get("/m/document/o/999999").status_code == 404
        assert client.get("/m/nothing").status_code == 404
        metrics = client.get("/m/document/metrics")
        assert metrics.status_code == 200
        assert "<svg" in metrics.text
        assert "kozea.github.io" not in metrics.text, "no chart script from the internet"
        svg = client.get("/m/document/diagram.svg")
        assert svg.headers["content-type"].startswith("image/svg+xml")
        assert "queued" in svg.text


@pytest.mark.parametrize("target", ["https://evil.example.com/", "//evil.example.com/x"])
def test_an_action_never_redirects_off_site(served: Served, target: str) -> None:
    with _logged_in(served) as client:
        page = client.get(f"/m/document/o/{served.ids['queued']}").text
        response = client.post(
            f"/m/document/o/{served.ids['queued']}/fire",
            data={"csrf": _csrf(page), "transition": "start", "next": target},
        )
        assert response.status_code == 303
        assert response.headers["location"] == f"/m/document/o/{served.ids['queued']}"


def test_firing_a_transition_whose_guard_needs_context_the_page_cannot_give_is_refused_in_words(orders: Served) -> None:
    """The page fires without context; ``confirm_payment``'s guard reads ``context.payment_status``."""
    with _logged_in(orders) as client:
        page = client.get(f"/m/order/o/{orders.ids['pending']}").text
        fired = client.post(
            f"/m/order/o/{orders.ids['pending']}/fire",
            data={"csrf": _csrf(page), "transition": "confirm_payment"},
            follow_redirects=True,
        )
    assert fired.status_code == 200
    assert "guard &#39;payment_confirmed&#39; cannot be evaluated" in fired.text
    assert "the context has no key &#39;payment_status&#39;" in fired.text


def test_without_a_shared_broker_a_repair_leaves_its_work_in_the_outbox(served: Served) -> None:
    from sqlalchemy import select

    from engine.cli.app import hold_work_in_outbox
    from engine.orm.tables import outbox

    hold_work_in_outbox(served.app)  # what `statewright admin` does on memory://
    failed = served.ids["failed"]
    with _logged_in(served) as client:
        page = client.get(f"/m/document/o/{failed}").text
        assert client.post(f"/m/document/o/{failed}/defibrillate", data={"csrf": _csrf(page)}).status_code == 303
    with served.app.engine.connect() as connection:
        rows = connection.execute(
            select(outbox.c.kind, outbox.c.sent_at)
            .where(outbox.c.model_id == str(failed))
            .order_by(outbox.c.id.desc())
            .limit(1)
        ).all()
    assert [(kind, sent) for kind, sent in rows] == [("task", None)], "the work waits for the workers' sweep"
