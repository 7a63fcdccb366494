"""What the document machine runs: its task, its endpoint's payload and response hooks, a listener."""

from __future__ import annotations

import logging
from typing import Any

from engine.demo.models import Document

log = logging.getLogger(__name__)


def generate(document: Document) -> Document:
    """The ``generate`` task: write the document's content."""
    document.content = f"{document.title}\n\nLorem ipsum dolor sit amet."
    return document


def publish_payload(document: Document) -> dict[str, Any]:
    """The ``publish`` endpoint's request body."""
    return {"title": document.title, "content": document.content}


def read_receipt(response: Any, document: Document) -> Document:
    """The ``publish`` endpoint's response handler: keep the service's receipt id."""
    document.receipt = str(response.json()["receipt"])
    return document


def announce_completed(event: dict[str, Any]) -> None:
    """Listener of ``document.completed``."""
    log.info("document %s completed", event.get("model_id"))
