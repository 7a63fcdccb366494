"""Masking log records: a filter on the loggers that may write a secret (ours, Dramatiq's, httpx's).

Dramatiq logs the exception of every failed attempt with its traceback, and httpx logs every request's
URL at INFO; both can hold a URL with credentials or an ``api_key``. A filter on a logger only sees
records created on that very logger (not on its children), so the filter is put on every logger of
those libraries that exists when ``Statewright`` is built, and on the worker's loggers, which Dramatiq
creates later, by name.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from engine.redaction import Redactor

#: Loggers (and their descendants) whose records are masked.
MASKED_LOGGERS = ("engine", "dramatiq", "httpx", "httpcore")
#: Loggers Dramatiq creates only when a worker starts; ``ConsumerThread(<queue>)`` ones are added per queue.
DRAMATIQ_WORKER_LOGGERS = (
    "dramatiq.worker.Worker",
    "dramatiq.worker.WorkerThread",
    "dramatiq.worker._WorkerMiddleware",
)


class RedactingFilter(logging.Filter):
    """Masks a record's message, exception text and stack with a ``Redactor``; never drops a record.

    The record is changed in place (its message is formatted once, its exception formatted into
    ``exc_text``), so every handler after it writes the masked text.

    Args:
        redactor: The masking rules; ``include`` adds the keys of later apps in the same process.
    """

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def include(self, redactor: Redactor) -> None:
        """Mask ``redactor``'s keys too (an app built later in the same process)."""
        self.redactor = self.redactor.including(redactor.keys)

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask the record; always keep it."""
        record.msg = self.redactor.text(record.getMessage())
        record.args = None
        if record.exc_info:
            # Format the exception now, masked, and drop the live one so no formatter formats it again.
            record.exc_text = self.redactor.text(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = self.redactor.text(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redactor.text(record.stack_info)
        return True


def install_log_redaction(redactor: Redactor, *, queues: Iterable[str] = ()) -> None:
    """Put a ``RedactingFilter`` on every logger that may write a secret (once per logger).

    Args:
        redactor: The masking rules (an existing filter gains its keys).
        queues: The broker's queues, whose consumer threads log under their own names.
    """
    names = {
        name
        for name in logging.root.manager.loggerDict
        if any(name == root or name.startswith(f"{root}.") for root in MASKED_LOGGERS)
    }
    names.update(MASKED_LOGGERS, DRAMATIQ_WORKER_LOGGERS)
    names.update(f"dramatiq.worker.ConsumerThread({queue})" for queue in queues)
    for name in sorted(names):
        logger = logging.getLogger(name)
        existing = next((f for f in logger.filters if isinstance(f, RedactingFilter)), None)
        if existing is None:
            logger.addFilter(RedactingFilter(redactor))
        else:
            existing.include(redactor)
