"""Serve the payment callbacks, dying right after the first callback's commit while ``MARKER`` exists.

Run as ``python -m tests.callbacks.crashing_server DATABASE_URL PORT MARKER`` by the crash test.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import uvicorn

from engine.runtime.changes import StatusChange
from engine.runtime.hooks import Hook
from tests.callbacks.serving import build_payments_app

#: Exit status of a process killed by the hook.
CRASHED = 17


class CrashAfterCommit(Hook):
    """After a callback's move committed, end the process before the answer is sent (once per marker file)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def after_transition(self, change: StatusChange) -> None:
        if (change.actor or "").startswith("callback:") and self.marker.exists():
            self.marker.unlink()
            os._exit(CRASHED)


def main() -> None:
    database_url, port, marker = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    app = build_payments_app(database_url, fresh=False, hooks=(CrashAfterCommit(marker),))
    uvicorn.run(app.callbacks_asgi(), host="127.0.0.1", port=port, log_level="critical")


if __name__ == "__main__":
    main()
