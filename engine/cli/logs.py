"""Logging of the long-running commands (``worker``, ``admin``, ``sweep``, ``demo``): ``--log-level`` and
``STATEWRIGHT_LOG_LEVEL``, lines on standard error.

Worker processes are spawned, so each child calls ``configure_logging`` with the level its parent was given.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any, TextIO, TypeVar

import click

from engine.cli.configured import setting_option
from engine.settings import LOG_LEVELS

F = TypeVar("F", bound=Callable[..., Any])

#: How a log line reads: when, how bad, which process, which logger, what.
LOG_FORMAT = "%(asctime)s %(levelname)s [%(process)d] %(name)s: %(message)s"
#: The name of the handler ``configure_logging`` installs (and replaces when called again).
HANDLER_NAME = "statewright"


class _StandardError(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time (a test runner swaps it), like logging's last resort."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self) -> TextIO:
        return sys.stderr


def configure_logging(level: str) -> None:
    """Send log records of ``level`` (a name in ``LOG_LEVELS``) and above to standard error, one line each.

    Inside a click command the setup ends with the command, so commands run in-process (tests, a
    program calling ``main``) leave the root logger as they found it.
    """
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(old)
    handler = _StandardError()
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    previous = root.level
    root.addHandler(handler)
    root.setLevel(level.upper())
    ctx = click.get_current_context(silent=True)
    if ctx is not None:

        def undo() -> None:
            root.removeHandler(handler)
            root.setLevel(previous)

        ctx.call_on_close(undo)


def log_level_option(function: F) -> F:
    """Add ``--log-level`` (any case; ``STATEWRIGHT_LOG_LEVEL`` when not given) to a command."""
    return setting_option(
        "--log-level",
        "log_level",
        "What to log on standard error.",
        type=click.Choice(LOG_LEVELS, case_sensitive=False),
    )(function)
