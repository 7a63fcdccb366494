"""A producer process that dies right after a commit, before its relay sent that commit's work.

``python -m tests.reliability.producer DATABASE_URL BROKER_URL COUNT BATCHES DIE_AFTER`` creates ``COUNT``
marked jobs in ``BATCHES`` commits and SIGKILLs itself from a hook's ``after_transitions`` on commit number
``DIE_AFTER``: user hooks run before the relay's, so that commit's outbox rows stay unsent.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Sequence

from engine import Hook, Statewright
from engine.runtime.changes import StatusChange
from tests.work.app.models import Job
from tests.work.conftest import MACHINES


class DieAfterCommit(Hook):
    """SIGKILLs this process after its ``commits``-th commit of status changes."""

    def __init__(self, commits: int) -> None:
        self.left = commits

    def after_transitions(self, changes: Sequence[StatusChange]) -> None:
        """Count the commit; die on the last one."""
        self.left -= 1
        if self.left == 0:
            os.kill(os.getpid(), signal.SIGKILL)


def main(database_url: str, broker_url: str, count: int, batches: int, die_after: int) -> None:
    """Produce until the hook kills the process."""
    app = Statewright.from_path(
        MACHINES, database_url=database_url, broker_url=broker_url, hooks=[DieAfterCommit(die_after)]
    )
    for batch in range(batches):
        size = count // batches + (1 if batch < count % batches else 0)
        with app.sessionmaker() as session:
            session.add_all([Job(behaviour="marked") for _ in range(size)])
            session.commit()


if __name__ == "__main__":
    database, broker, objects, commits, fatal = sys.argv[1:]
    main(database, broker, int(objects), int(commits), int(fatal))
