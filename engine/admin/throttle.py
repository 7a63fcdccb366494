"""``LoginThrottle``: how many wrong tokens one client address may try before it has to wait."""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable

#: Wrong tokens one client address may send within ``LOGIN_WINDOW`` before it is refused with 429.
MAX_FAILED_LOGINS = 5
#: Seconds a wrong token counts against its address.
LOGIN_WINDOW = 60.0
#: Addresses remembered at most (the least recently seen are forgotten), so a flood of addresses cannot exhaust memory.
MAX_TRACKED_ADDRESSES = 10_000


class LoginThrottle:
    """Counts wrong tokens per client address over a sliding window.

    Args:
        limit: Wrong tokens allowed within ``window``.
        window: Seconds a wrong token counts.
        clock: Monotonic seconds (replaceable in tests).

    >>> now = [0.0]
    >>> throttle = LoginThrottle(limit=2, window=10, clock=lambda: now[0])
    >>> throttle.failed("1.2.3.4"); throttle.failed("1.2.3.4"); throttle.wait("1.2.3.4")
    10
    >>> now[0] = 10.0; throttle.wait("1.2.3.4")
    0
    """

    def __init__(
        self,
        *,
        limit: int = MAX_FAILED_LOGINS,
        window: float = LOGIN_WINDOW,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def wait(self, address: str) -> int:
        """Whole seconds ``address`` must wait before its next try (0: it may try now)."""
        failures = self._recent(address)
        if len(failures) < self.limit:
            return 0
        return max(1, math.ceil(failures[0] + self.window - self.clock()))

    def failed(self, address: str) -> None:
        """Count a wrong token from ``address``."""
        self._recent(address).append(self.clock())
        self._failures.move_to_end(address)
        while len(self._failures) > MAX_TRACKED_ADDRESSES:
            self._failures.popitem(last=False)

    def succeeded(self, address: str) -> None:
        """The right token: forget the address's wrong ones."""
        self._failures.pop(address, None)

    def _recent(self, address: str) -> deque[float]:
        failures = self._failures.setdefault(address, deque(maxlen=self.limit))
        while failures and failures[0] <= self.clock() - self.window:
            failures.popleft()
        return failures
