"""The admin page in headless Chromium (Debian's, driven by Playwright): list, filter, history, every
action, metrics and a live update after a background transition, with no Content-Security-Policy
violation reported on the console. Screenshots go to test-output/admin/."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import update

from engine.runtime.flow import Flow
from examples.documents.models import Document
from tests.admin.conftest import Served


@pytest.fixture
def database_url(tmp_path: object) -> str:
    """The browser tests run on SQLite; the HTTP tests cover PostgreSQL too."""
    return f"sqlite:///{tmp_path}/admin.db"


def _flash(page: Page) -> str:
    return page.locator(".flash").first.inner_text()


def test_the_list_filters_by_status_and_finds_by_id(page: Page, served: Served) -> None:
    page.goto(f"{served.url}/m/document")
    expect(page.locator("table.objects tbody tr")).to_have_count(6)
    page.select_option("select[name=status]", "error")
    page.click("button:has-text('Filter')")
    expect(page.locator("table.objects tbody tr")).to_have_count(1)
    expect(page.locator("table.objects .badge")).to_have_text("error")
    page.select_option("select[name=status]", "")
    page.fill("input[name=q]", str(served.ids["processing"]))
    page.click("button:has-text('Filter')")
    expect(page.locator("table.objects tbody tr")).to_have_count(1)
    expect(page.locator("table.objects .badge")).to_have_text("processing")
    color = page.locator("table.objects .badge").evaluate("e => getComputedStyle(e).backgroundColor")
    assert color == "rgb(59, 130, 246)", "the state's color from the machine file"


def test_an_objects_history_shows_payloads_and_exceptions(page: Page, served: Served) -> None:
    page.goto(f"{served.url}/m/document/o/{served.ids['failed']}")
    expect(page.locator(".history .change")).to_have_count(3)
    newest = page.locator(".history .change").first
    expect(newest.locator(".exception")).to_contain_text("builtins.RuntimeError: the service said no")
    expect(newest.locator("pre.payload")).to_contain_text('"url": "https://api.example.com/x"')
    expect(page.locator("button[name=defibrillate]")).to_be_visible()
    expect(page.locator("button[name=fire]")).to_have_count(0)  # nothing leaves error but defibrillation


def test_fire_a_transition(page: Page, served: Served) -> None:
    page.goto(f"{served.url}/m/document/o/{served.ids['queued']}")
    page.click("button[name=fire][value=start]")
    assert "queued → processing (start)" in _flash(page)
    expect(page.locator("h2 .badge")).to_have_text("processing")
    expect(page.locator(".history .change").first.locator(".actor")).to_have_text("by admin")


def test_defibrillate_one_object(page: Page, served: Served) -> None:
    page.goto(f"{served.url}/m/document/o/{served.ids['failed']}")
    page.click("button[name=defibrillate]")
    assert "defibrillated, error → queued" in _flash(page)
    expect(page.locator("h2 .badge")).to_have_text("queued")


def test_defibrillate_the_filtered_list(page: Page, served: Served) -> None:
    page.goto(f"{served.url}/m/document?status=error")
    page.on("dialog", lambda dialog: dialog.accept())
    page.click("button[name=bulk-defibrillate]")
    assert "document: 1 defibrillated, 0 had moved on" in _flash(page)
    expect(page.locator("table.objects tbody tr")).to_have_text(["No objects."])


def test_compress_restore_and_purge_a_payload(page: Page, served: Served) -> None:
    page.goto(f"{served.url}/m/document/o/{served.ids['failed']}")
    newest = page.locator(".history .change").first
    newest.locator("button[name=compress]").click()
    assert re.search(r"history row \d+: compress done", _flash(page))
    newest = page.locator(".history .change").first
    expect(newest.locator(".archived")).to_contain_text("Payload archived")
    expect(newest.locator("pre.payload")).to_have_count(0)
    newest.locator("button[name=restore]").click()
    assert "restore done" in _flash(page)
    newest = page.locator(".history .change").first
    expect(newest.locator("pre.payload")).to_contain_text("https://api.example.com/x")
    expect(newest.locator(".restored")).to_be_visible()
    newest.locator("button[name=purge]").click()
    assert "purge done" in _flash(page)
    newest = page.locator(".history .change").first
    expect(newest.locator("pre.payload")).to_have_count(0)
    expect(newest.locator("button[name=restore]")).to_be_visible()


def test_metrics_are_drawn_without_the_internet(page: Page, served: Served) -> None:
    page.goto(f"{served.url}/m/document/metrics")
    expect(page.locator("#new-objects .value")).to_have_text("6")
    expect(page.locator("#per-day svg")).to_be_visible()
    expect(page.locator("#by-status svg")).to_be_visible()
    expect(page.locator("#by-status svg")).to_contain_text("queued")


def test_the_diagram_counts_update_live_after_a_background_transition(page: Page, served: Served) -> None:
    page.goto(f"{served.url}/m/document/diagram")
    processing = page.locator("#counts tr[data-state=processing] .count")
    expect(processing).to_have_text("1")
    expect(page.locator("#diagram")).to_have_js_property("complete", True)
    flow: Flow = served.app.flows["document"]
    with served.app.sessionmaker() as session:  # as a worker in another process would
        flow.fire(session.get_one(Document, served.ids["queued"]), "start", {})
    expect(processing).to_have_text("2", timeout=10_000)
    expect(page.locator("#counts tr[data-state=queued] .count")).to_have_text("3")
    expect(page.locator("#live-status")).to_contain_text("updated")


def test_the_list_renders_an_object_whose_status_value_no_state_declares(page: Page, served: Served) -> None:
    with served.app.engine.begin() as connection:  # someone wrote 99 by hand
        connection.execute(
            update(Document.__table__).where(Document.__table__.c.id == served.ids["queued"]).values(status=99)
        )
    page.goto(f"{served.url}/m/document")
    expect(page.locator("table.objects tbody tr")).to_have_count(6)
    expect(page.locator("table.objects .badge.unknown")).to_have_text("unknown value 99")
    expect(page.locator("#unknown-values")).to_contain_text("1 with unknown value 99")
    page.select_option("select[name=status]", "-unknown")
    page.click("button:has-text('Filter')")
    expect(page.locator("table.objects tbody tr")).to_have_count(1)
    page.click("table.objects tbody a")
    expect(page.locator("h2 .badge")).to_have_text("unknown value 99")
    expect(page.locator("#problem")).to_contain_text("which no state of the machine stores")


def test_logging_out_ends_the_session(page: Page, served: Served) -> None:
    page.goto(f"{served.url}/m/document")
    page.click("button[name=logout]")
    expect(page).to_have_url(f"{served.url}/login")
    page.goto(f"{served.url}/m/document")
    expect(page).to_have_url(f"{served.url}/login")
