"""Time limits on handlers: a watchdog thread interrupts a handler that runs past its ``Deadline``.

The limit bounds the handler alone (a task's ``run``, an endpoint's hooks and HTTP call, a listener, a
reaction), never the whole message: a worker that holds a message while the database is unreachable
must not be interrupted for waiting. It lives in the actors' own code, so it is enforced the same way
under ``statewright worker``, ``statewright demo``, a ``dramatiq.Worker`` and the ``dramatiq`` command
(the brokers Statewright builds carry no Dramatiq ``TimeLimit``, whose limit covers the whole message).

The interruption is an asynchronous exception (``PyThreadState_SetAsyncExc``, as Dramatiq's own limit
uses): it arrives at the thread's next Python instruction, so a call blocked in C (a socket read,
``time.sleep``) returns first. It is sent only while the thread runs the handler, and the handler's
return cancels one that has not arrived yet, so it never lands in the code that records the outcome.
"""

from __future__ import annotations

import ctypes
import logging
import math
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import ParamSpec, TypeVar

from engine.errors import HandlerTimedOut
from engine.spec.model import EndpointSpec, ListenerSpec, ReactionSpec, TaskSpec

log = logging.getLogger("engine.work")

P = ParamSpec("P")
R = TypeVar("R")

#: Time an endpoint's hooks and the reading of its response may take beyond its HTTP ``timeout``
#: (httpx applies that timeout to each connect, read and write, not to the whole exchange).
ENDPOINT_SLACK = timedelta(seconds=10)
#: Seconds the watchdog sleeps when no deadline is nearer (it then looks again).
IDLE_WAKE = 30.0

# ``int PyThreadState_SetAsyncExc(unsigned long id, PyObject *exc)``: a prototype of our own, so that
# Dramatiq's calls through ``ctypes.pythonapi`` keep their argument conversions. A NULL ``exc`` cancels.
_SET_ASYNC_EXC = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.c_ulong, ctypes.py_object)(
    ("PyThreadState_SetAsyncExc", ctypes.pythonapi)
)


class _Interrupt(BaseException):
    """What the watchdog raises in a late thread; ``Deadline.run`` turns it into ``HandlerTimedOut``.

    A ``BaseException``, like Dramatiq's ``Interrupt``, so a handler's ``except Exception`` does not
    swallow it and run on past its limit.
    """


def limit_of(work: TaskSpec | EndpointSpec | ListenerSpec | ReactionSpec) -> timedelta:
    """How long the work's handler may run: its ``time_limit``, or an endpoint's ``timeout`` plus ``ENDPOINT_SLACK``."""
    if isinstance(work, EndpointSpec):
        return work.timeout + ENDPOINT_SLACK
    return work.time_limit


@dataclass(eq=False)
class _Armed:
    """One thread running under a deadline: until when (``time.monotonic``), and whether it was interrupted."""

    thread: int
    at: float
    fired: bool = False


class Watchdog:
    """The process's armed deadlines and the daemon thread that interrupts threads past theirs.

    The thread starts with the first deadline (in each process: a forked child starts its own) and
    sleeps until the earliest one, so it costs nothing while handlers finish in time. What the late
    thread itself runs here uses only primitives written in C (a lock, a ``SimpleQueue``): an interrupt
    can arrive between any two Python instructions, and one arriving inside, say, ``Condition.__exit__``
    would leave its lock held for good.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._wakeups: queue.SimpleQueue[None] = queue.SimpleQueue()
        self._armed: dict[int, _Armed] = {}
        self._wake_at = math.inf
        self._thread: threading.Thread | None = None

    def arm(self, armed: _Armed) -> None:
        """Start watching ``armed`` (from its own thread)."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._watch, name="statewright-time-limits", daemon=True)
                self._thread.start()
            self._armed[armed.thread] = armed
            earlier = armed.at < self._wake_at
        if earlier:
            self._wakeups.put(None)

    def disarm(self, armed: _Armed) -> bool:
        """Stop watching ``armed`` (from its own thread); returns whether its thread was interrupted.

        An interrupt sent but not arrived yet is cancelled here, under the lock it is sent with, so none
        arrives once this has returned.
        """
        with self._lock:
            if self._armed.get(armed.thread) is armed:
                del self._armed[armed.thread]
            if armed.fired:
                _SET_ASYNC_EXC(armed.thread, ctypes.py_object())
        return armed.fired

    def _watch(self) -> None:
        while True:
            with self._lock:
                now = time.monotonic()
                for armed in self._armed.values():
                    if not armed.fired and armed.at <= now:
                        # Once per deadline: a second one could arrive after the first was handled.
                        armed.fired = True
                        _SET_ASYNC_EXC(armed.thread, ctypes.py_object(_Interrupt))
                # With nothing sooner it still wakes after IDLE_WAKE, so that arming a deadline later than that
                # (a 10-minute limit, the usual case) need not wake it: one thread switch fewer per handler run.
                self._wake_at = min((a.at for a in self._armed.values() if not a.fired), default=now + IDLE_WAKE)
                wait = max(0.0, self._wake_at - now)
            try:
                self._wakeups.get(timeout=wait)
            except queue.Empty:
                pass


_watchdog = Watchdog()


def _new_watchdog_in_child() -> None:
    # The parent's watchdog thread does not exist in a forked child, and its lock may have been held.
    global _watchdog
    _watchdog = Watchdog()


os.register_at_fork(after_in_child=_new_watchdog_in_child)


@dataclass(frozen=True)
class Deadline:
    """A handler's time budget: calls made through ``run`` are interrupted once ``limit`` has passed since ``started``.

    Args:
        limit: How long the handler may run in all.
        what: What runs, for the error message (``task crunch``, ``endpoint notify``).
        started: When the budget started (``time.monotonic``); now by default.
    """

    limit: timedelta
    what: str
    started: float = field(default_factory=time.monotonic)

    def run(self, function: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """Call ``function``, interrupting it with ``HandlerTimedOut`` once the budget is spent.

        A call, not a ``with`` block, so that everything between arming and disarming happens inside
        this frame's ``try``: an interrupt cannot arrive where no one turns it into ``HandlerTimedOut``
        (a ``with`` block's ``__exit__`` begins with an instruction where it could).

        Raises:
            HandlerTimedOut: The budget was spent before ``function`` returned (or before it started).
        """
        armed = _Armed(threading.get_ident(), self.started + self.limit.total_seconds())
        if armed.at <= time.monotonic():
            raise self._timed_out()
        try:
            _watchdog.arm(armed)
            try:
                result = function(*args, **kwargs)
            finally:
                late = _watchdog.disarm(armed)
        except _Interrupt:  # sent once per deadline: no other can follow this one
            _watchdog.disarm(armed)
            raise self._timed_out() from None
        if late:  # it ran past its limit, and returned before the interrupt arrived
            raise self._timed_out()
        return result

    def _timed_out(self) -> HandlerTimedOut:
        log.warning("%s ran past its time limit of %s s: interrupted", self.what, f"{self.limit.total_seconds():g}")
        return HandlerTimedOut(limit=self.limit, what=self.what)
