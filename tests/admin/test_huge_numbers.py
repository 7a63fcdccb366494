"""Numbers past what a database integer holds name no object, page or row: 404 or 400, never a 500."""

from __future__ import annotations

import re

import httpx

from tests.admin.conftest import TOKEN, Served

HUGE = "9" * 24


def _csrf(page: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match is not None
    return match.group(1)


def test_huge_ids_pages_and_searches_are_404_or_400(served: Served) -> None:
    with httpx.Client(base_url=served.url, follow_redirects=False) as client:
        assert client.post("/login", data={"token": TOKEN}).status_code == 303
        csrf = _csrf(client.get("/").text)
        answers = {
            "object": client.get(f"/m/document/o/{HUGE}").status_code,
            "negative object": client.get(f"/m/document/o/-{HUGE}").status_code,
            "page": client.get("/m/document", params={"page": HUGE}).status_code,
            "fire": client.post(f"/m/document/o/{HUGE}/fire", data={"csrf": csrf, "transition": "start"}).status_code,
            "defibrillate": client.post(f"/m/document/o/{HUGE}/defibrillate", data={"csrf": csrf}).status_code,
            "restore": client.post(f"/history/{HUGE}/restore", data={"csrf": csrf}).status_code,
            "retry": client.post(f"/failures/{HUGE}/retry", data={"csrf": csrf}).status_code,
        }
        assert all(status in (400, 404) for status in answers.values()), answers
        search = client.get("/m/document", params={"q": HUGE})
        assert search.status_code == 200, "a search for a number no key can be finds nothing"
        assert "document 0" not in search.text
        everything = client.post("/m/document/defibrillate", data={"csrf": csrf, "q": HUGE})
        assert everything.status_code == 303
        assert "0 defibrillated" in client.get(everything.headers["location"]).text
        assert client.get("/m/document", params={"page": "2"}).status_code == 200, "ordinary pages still work"
