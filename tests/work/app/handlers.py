"""The job machine's task handler, listener and reaction selector, with counters for the tests."""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import Select, select

from tests.work.app.models import Job

#: Handler runs per job id.
CALLS: Counter[int] = Counter()
#: Messages the listener received.
HEARD: list[Mapping[str, Any]] = []


class Flaky(RuntimeError):
    """The handler's failure."""


def crunch(job: Job) -> dict[str, Any]:
    """Succeed, fail on the first run only, always fail, or (``slow``) announce the run and take a while."""
    CALLS[job.id] += 1
    if job.behaviour == "marked":  # the fault tests' jobs: count every run in a file, work a little
        with Path(os.environ["STATEWRIGHT_TEST_MARKER"]).open("a") as runs:
            runs.write(f"{job.id}\n")
        time.sleep(float(os.environ.get("STATEWRIGHT_TEST_WORK", "0.01")))
    if job.behaviour == "slow":
        marker = Path(os.environ["STATEWRIGHT_TEST_MARKER"])
        with marker.open("a") as runs:
            runs.write(f"{job.id}\n")
        # In small sleeps, as Python code working would: a time limit's interrupt lands between two.
        until = time.monotonic() + float(os.environ.get("STATEWRIGHT_TEST_SLOW", "3"))
        while time.monotonic() < until:
            time.sleep(0.05)
    if job.behaviour == "other-database":  # a database of the handler's own that is down
        import psycopg

        psycopg.connect("host=127.0.0.1 port=1 user=nobody dbname=none connect_timeout=2")
    if job.behaviour == "own-conflict":  # the handler's own transaction lost to another
        import psycopg

        raise psycopg.errors.SerializationFailure("could not serialize access due to concurrent update")
    if job.behaviour == "always-fail" or (job.behaviour == "fail-once" and CALLS[job.id] == 1):
        raise Flaky(f"job {job.id} failed on run {CALLS[job.id]}")
    job.result = f"crunched {job.id}"
    return {"runs": CALLS[job.id]}


def remember(message: Mapping[str, Any]) -> None:
    """Listener of ``job.done``."""
    HEARD.append(message)


def same_job(message: Mapping[str, Any]) -> Select[Any]:
    """Reaction selector: the job that emitted the event."""
    return select(Job).where(Job.id == int(message["model_id"]))


def call_body(call: Any) -> dict[str, Any]:
    """The endpoint's request body: one secret key to be masked in the history."""
    return {"call": call.id, "secret": "do-not-store"}


def read_answer(response: Any, call: Any) -> None:
    """The endpoint's response hook."""
    call.answer = response.json()["receipt"]


def pack(shipment: Any) -> None:
    """Label the shipment with its whole key."""
    shipment.label = f"{shipment.warehouse}/{shipment.number}"


#: Runs of the failing listener and reaction selector, by name.
GRUMBLES: Counter[str] = Counter()
#: While True, the errand listener raises; tests turn it off to see a retry succeed.
LISTENER_FAILS = [True]


class Grumble(RuntimeError):
    """The failing listener's and selector's error."""


def grumble(message: Mapping[str, Any]) -> None:
    """Listener of ``errand.done`` that fails while ``LISTENER_FAILS[0]`` is set."""
    GRUMBLES["listener"] += 1
    if LISTENER_FAILS[0]:
        raise Grumble(f"listener refused errand {message['model_id']}")
    HEARD.append(message)


#: A URL with credentials the failing selector puts in its exception: failure records must not keep them.
SELECTOR_SECRET_URL = "https://bot:hunter2-pw@api.example/items?api_key=k3y-s3cret"


def refuse_to_select(message: Mapping[str, Any]) -> Select[Any]:
    """Reaction selector that always fails."""
    GRUMBLES["reaction"] += 1
    raise Grumble(f"selector refused errand {message['model_id']}: {SELECTOR_SECRET_URL} answered 503")


def broken_body(errand: Any) -> dict[str, Any]:
    """An endpoint payload hook that fails before anything is sent."""
    raise Grumble(f"no body for errand {errand.id}")


def dawdle(errand: Any) -> None:
    """A task that outlives its time limit (in small sleeps, so Dramatiq's interrupt lands)."""
    for _ in range(100):
        time.sleep(0.05)


#: Runs of ``swallow_everything``.
SWALLOWED: Counter[str] = Counter()


def swallow_everything(errand: Any) -> None:
    """A task that catches every ``Exception`` while it works for 5 s (in small steps): a time limit still stops it."""
    SWALLOWED["runs"] += 1
    until = time.monotonic() + 5
    while time.monotonic() < until:
        try:
            time.sleep(0.01)
        except Exception:  # noqa: BLE001 - the point: handlers like this one exist
            SWALLOWED["swallowed"] += 1


def quick(errand: Any) -> dict[str, str]:
    """A task that is done at once."""
    return {"quick": "yes"}
