"""The admin object page's "Touch" button: shown for touchable states only, CSRF-checked, one `touch` row."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.admin.conftest import TOKEN, Served, serve_admin
from tests.work.touching.app import new_parcel, parcel_app
from tests.work.touching.models import Parcel


@pytest.fixture
def served(database_url: str) -> Iterator[Served]:
    """The parcel app's admin page: one parcel in `packing` (touchable), one in `labelled` (not)."""
    app = parcel_app(database_url)
    packing, labelled = new_parcel(app), new_parcel(app)
    with app.sessionmaker() as session:
        parcel = session.get_one(Parcel, labelled)
        parcel.fire("packed")
        parcel.fire("label")
    with serve_admin(app, {"packing": packing, "labelled": labelled}) as running:
        yield running


def _transitions(served: Served, key: str) -> list[str]:
    with served.app.sessionmaker() as session:
        return [change.transition for change in session.get_one(Parcel, served.ids[key]).history()]


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match is not None
    return match.group(1)


def test_touch_over_http_checks_csrf_and_refuses_a_state_that_is_not_touchable(served: Served) -> None:
    with httpx.Client(base_url=served.url, follow_redirects=False) as client:
        assert client.post("/login", data={"token": TOKEN}).status_code == 303
        packing, labelled = served.ids["packing"], served.ids["labelled"]
        html = client.get(f"/m/parcel/o/{packing}").text
        assert 'name="touch"' in html
        assert 'name="touch"' not in client.get(f"/m/parcel/o/{labelled}").text
        assert client.post(f"/m/parcel/o/{packing}/touch", data={"csrf": "forged"}).status_code == 403
        assert _transitions(served, "packing") == ["create"]
        done = client.post(f"/m/parcel/o/{packing}/touch", data={"csrf": _csrf(html)}, follow_redirects=True)
        assert f"parcel {packing}: touched, packing entered again" in done.text
        assert _transitions(served, "packing") == ["create", "touch"]
        refused = client.post(f"/m/parcel/o/{labelled}/touch", data={"csrf": _csrf(html)}, follow_redirects=True)
        assert "state &#39;labelled&#39; cannot be touched" in refused.text
        assert _transitions(served, "labelled") == ["create", "packed", "label"]


def test_touch_button_in_the_browser(page: Page, served: Served) -> None:  # noqa: F811 - the page fixture
    page.goto(f"{served.url}/m/parcel/o/{served.ids['packing']}")
    page.click("button[name=touch]")
    assert "touched, packing entered again" in page.locator(".flash").first.inner_text()
    expect(page.locator(".history .change")).to_have_count(2)
    expect(page.locator(".history .change").first.locator(".actor")).to_have_text("by admin")
