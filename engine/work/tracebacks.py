"""Mask the traceback Dramatiq stores in a message it retries.

``Retries`` puts the failed attempt's traceback in the message's options before it enqueues the message
again, so the broker (Redis, RabbitMQ) keeps it until the retry runs. A traceback repeats the exception's
message, which may hold a secret (a URL with a password, a token): it gets the same masking as history rows.
"""

from __future__ import annotations

from typing import Any

from dramatiq import Broker, Middleware

from engine.redaction import Redactor


class MaskTracebacks(Middleware):
    """Masks ``options["traceback"]`` of every message before the broker stores it."""

    def __init__(self, redactor: Redactor) -> None:
        self.redactor = redactor

    def before_enqueue(self, broker: Broker, message: Any, delay: int | None) -> None:
        """Mask the traceback a retry carries (first enqueues carry none)."""
        traceback = message.options.get("traceback")
        if isinstance(traceback, str):
            message.options["traceback"] = self.redactor.text(traceback)


def add_traceback_masking(broker: Broker, redactor: Redactor) -> None:
    """Put ``MaskTracebacks`` on ``broker`` once."""
    if not any(isinstance(middleware, MaskTracebacks) for middleware in broker.middleware):
        broker.add_middleware(MaskTracebacks(redactor))
