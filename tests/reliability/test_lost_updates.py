"""Eight processes firing on the same rows of PostgreSQL at once: no update is lost, no history row is wrong."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter

from sqlalchemy import select

from engine import Statewright
from engine.orm.tables import statuses
from tests.benchmarks.bench_app.models import BenchBase, Job
from tests.benchmarks.bench_runtime import MACHINES
from tests.conftest import ROOT, fresh_tables

PROCESSES = 8
ROWS = 10
WINS_EACH = 60
CYCLE = ["a", "b", "c"]


def test_concurrent_fires_from_eight_processes_lose_no_update(postgres_url: str) -> None:
    app = Statewright.from_path(MACHINES, database_url=postgres_url)
    try:
        fresh_tables(app.engine, BenchBase.metadata)  # other tests' "job" machines leave history for the same ids
        with app.sessionmaker() as session:
            jobs = [Job() for _ in range(ROWS)]
            session.add_all(jobs)
            session.commit()
            ids = [str(job.id) for job in jobs]
        runs = [
            subprocess.Popen(
                [sys.executable, "-m", "tests.reliability.firing", postgres_url, str(WINS_EACH), str(seed), *ids],
                cwd=ROOT,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for seed in range(PROCESSES)
        ]
        outputs = [run.communicate(timeout=300) for run in runs]
        assert [run.returncode for run in runs] == [0] * PROCESSES, [err for _, err in outputs]
        won: Counter[int] = Counter()
        lost = 0
        for out, _ in outputs:
            reported = json.loads(out)
            won.update({int(row_id): count for row_id, count in reported["won"].items()})
            lost += reported["lost"]
        assert sum(won.values()) == PROCESSES * WINS_EACH
        assert lost > 0, "no fire ever lost a race: the processes did not contend and the test proved nothing"

        with app.sessionmaker() as session:
            for row_id in map(int, ids):
                history = session.execute(
                    select(statuses.c.from_state, statuses.c.to_state)
                    .where(statuses.c.model_id == str(row_id), statuses.c.machine == "job")
                    .order_by(statuses.c.id)
                ).all()
                moves = history[1:]
                assert len(moves) == won[row_id], "every committed fire has exactly one history row"
                assert all(step.from_state == before.to_state for before, step in zip(history, moves, strict=False)), (
                    "each move starts where the previous one ended"
                )
                state = session.get_one(Job, row_id).status.state
                assert state == CYCLE[won[row_id] % 3] == history[-1].to_state
    finally:
        BenchBase.metadata.drop_all(app.engine)
        app.close()
