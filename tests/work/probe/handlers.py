"""The probe endpoint's hooks: request bodies with secrets in them, and a response hook that can fail."""

from __future__ import annotations

from typing import Any

import httpx

#: What the response hook saw, per probe id: the length of the body it could read.
SEEN: dict[int, int] = {}


def json_body(probe: Any) -> dict[str, Any]:
    """A JSON body with secrets under default keys, nested, in every spelling."""
    return {
        "probe": probe.id,
        "auth": {"password": "body-secret-1", "apiKey": "body-secret-2"},
        "items": [{"Access-Token": "body-secret-3"}],
    }


def form_body(probe: Any) -> dict[str, Any]:
    """A form body (the endpoint's Content-Type says so)."""
    return {"username": "ada", "password": "form-secret-1", "client_secret": "form-secret-2"}


def read_answer(response: httpx.Response, probe: Any) -> None:
    """Keep the answer; on the ``hookfail`` route fail with the answer in the message, as careless code does."""
    SEEN[probe.id] = len(response.content)
    if probe.route == "hookfail":
        raise ValueError(f"unexpected answer from the service: {response.text}")
    probe.answer = response.text[:200]
