"""The probe machine, written for each test with the endpoint options it needs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

#: Headers the endpoint sends: secrets under default keys, spelt three ways.
SECRET_HEADERS = {
    "X-API-Key": "header-secret-1",
    "Api-Key": "header-secret-2",
    "Authorization": "Bearer header-secret-3",
}
#: Every secret the probe app sends or receives; none may be stored, logged or shown.
CLIENT_SECRETS = (
    "header-secret-1",
    "header-secret-2",
    "header-secret-3",
    "body-secret-1",
    "body-secret-2",
    "body-secret-3",
    "form-secret-1",
    "form-secret-2",
    "query-secret-1",
    "url-password-1",
)


def write_machine(
    folder: Path,
    *,
    url: str,
    payload: str | None = "json_body",
    accept_redirects: bool | None = None,
    headers: dict[str, str] | None = None,
    retries: int = 1,
) -> Path:
    """Write ``probe.yaml`` into ``folder`` (made if missing) and return the folder."""
    endpoint: dict[str, Any] = {
        "when": "pending",
        "method": "POST",
        "url": url,
        "headers": {**SECRET_HEADERS, **(headers or {})},
        "response": "tests.work.probe.handlers:read_answer",
        "processing": "sending",
        "complete": "sent",
        "error": "failed",
        "timeout": "5s",
        "retries": retries,
        "backoff": {"min": "10ms", "max": "20ms"},
    }
    if payload:
        endpoint["payload"] = f"tests.work.probe.handlers:{payload}"
    if accept_redirects is not None:
        endpoint["accept_redirects"] = accept_redirects
    machine = {
        "version": 1,
        "name": "probe",
        "model": "tests.work.probe.models:Probe",
        "initial": "pending",
        "states": {"pending": {}, "sending": {}, "sent": {"final": True}, "failed": {"defibrillate": "pending"}},
        "transitions": [
            {"name": "send", "from": "pending", "to": "sending"},
            {"name": "delivered", "from": "sending", "to": "sent"},
            {"name": "reject", "from": "sending", "to": "failed"},
        ],
        "endpoints": {"call": endpoint},
    }
    folder.mkdir(parents=True, exist_ok=True)
    # JSON is YAML: no quoting questions for URLs with braces and colons.
    (folder / "probe.yaml").write_text(json.dumps(machine, indent=2))
    return folder
