"""Make Dramatiq enforce time limits in workers that Statewright starts itself.

Dramatiq's ``TimeLimit`` middleware starts its watchdog thread on ``after_process_boot``, which only the
``dramatiq`` command emits. ``statewright worker``, ``statewright demo`` and ``dramatiq.Worker`` in tests
never do, so without this a task's ``time_limit`` was never enforced.
"""

from __future__ import annotations

import threading
from typing import Any

from dramatiq import Broker, Middleware
from dramatiq.middleware import TimeLimit


class StartTimeLimits(Middleware):
    """Starts every ``TimeLimit`` watchdog of the broker before the first message is processed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._started = False

    def before_process_message(self, broker: Broker, message: Any) -> None:
        """Start the watchdogs once, in the first worker thread that gets a message."""
        if self._started:
            return
        with self._lock:
            for middleware in broker.middleware:
                manager = getattr(middleware, "manager", None)
                if isinstance(middleware, TimeLimit) and isinstance(manager, threading.Thread) \
                        and manager.ident is None:
                    manager.start()
            self._started = True


def add_time_limit_starter(broker: Broker) -> None:
    """Put ``StartTimeLimits`` first on the broker (its ``before_`` hook runs before ``TimeLimit``'s)."""
    if not any(isinstance(middleware, StartTimeLimits) for middleware in broker.middleware):
        broker.middleware.insert(0, StartTimeLimits())
