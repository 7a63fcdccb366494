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


def write_machine(folder: Path, handler: str) -> Path:
    """Write the machine running ``handler`` into ``folder``; returns the file."""
    path = folder / "job.yaml"
    path.write_text(MACHINE.format(handler=handler))
    return path
