"""A clock a test moves: timeouts swept and delayed retries come due when it says so."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from engine.spec.durations import parse_duration


class FakeClock:
    """Starts at the real time; ``advance`` moves it forward, nothing else does.

    ``FlowTest.sweep()`` judges timeouts by it and ``FlowTest.drain()`` runs a delayed message (a retry's
    backoff) once it is due by it. Times the database writes (history rows) stay the database's.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime.now(UTC)

    def now(self) -> datetime:
        """The clock's time, timezone-aware."""
        return self._now

    def millis(self) -> int:
        """The clock's time as Unix milliseconds (what Dramatiq's ``eta`` holds)."""
        return int(self._now.timestamp() * 1000)

    def advance(self, by: str | timedelta) -> datetime:
        """Move the clock forward by a duration (``"5m"``, ``"2d"``, or a ``timedelta``); returns the new time.

        Raises:
            ValueError: ``by`` is not a duration, or is negative.
        """
        step = parse_duration(by) if isinstance(by, str) else by
        if step < timedelta(0):
            raise ValueError(f"advance({by!r}): a clock only moves forward.")
        self._now += step
        return self._now
