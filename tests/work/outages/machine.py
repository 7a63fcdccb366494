"""A job machine whose task is one of ``handlers``, written to a folder for ``Statewright.from_path``."""

from __future__ import annotations

from pathlib import Path

MACHINE = """\
version: 1
name: job
model: tests.work.app.models:Job
initial: queued
states:
  queued: {{}}
  running: {{}}
  done: {{final: true}}
  failed: {{defibrillate: queued}}
transitions:
  - {{name: start, from: queued, to: running}}
  - {{name: finish, from: running, to: done}}
  - {{name: fail, from: running, to: failed}}
tasks:
  crunch: {{when: queued, run: "tests.work.outages.handlers:{handler}", processing: running, complete: done,
           error: failed, retries: 0, time_limit: 1m, queue: jobs}}
"""


CALL_MACHINE = """\
version: 1
name: call
model: tests.work.app.models:Call
initial: pending
states:
  pending: {{}}
  sending: {{}}
  sent: {{final: true}}
  rejected: {{defibrillate: pending}}
transitions:
  - {{name: send, from: pending, to: sending}}
  - {{name: delivered, from: sending, to: sent}}
  - {{name: reject, from: sending, to: rejected}}
endpoints:
  deliver: {{when: pending, method: POST, url: "/calls/{{model.path}}",
            response: "tests.work.outages.handlers:{handler}", processing: sending, complete: sent,
            error: rejected, timeout: 5s, retries: 0, queue: calls}}
"""


def write_machine(folder: Path, handler: str, *, template: str = MACHINE) -> Path:
    """Write the machine (``MACHINE`` or ``CALL_MACHINE``) running ``handler`` into ``folder``; returns the file."""
    path = folder / "machine.yaml"
    path.write_text(template.format(handler=handler))
    return path
