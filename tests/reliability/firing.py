"""One of the processes of the lost-update test: fire ``go`` on random rows until it has won N times.

    python -m tests.reliability.firing DATABASE_URL WINS SEED ROW_ID...

Prints, as JSON, how many of its fires on each row committed, and how many lost a race.
"""

from __future__ import annotations

import json
import random
import sys
from collections import Counter

from engine import ConcurrencyError, Statewright
from tests.benchmarks.bench_app.models import Job
from tests.benchmarks.bench_runtime import MACHINES


def main() -> None:
    database_url, wins, seed, *ids = sys.argv[1:]
    rows = [int(row_id) for row_id in ids]
    chance = random.Random(int(seed))
    app = Statewright.from_path(MACHINES, database_url=database_url)
    won: Counter[int] = Counter()
    lost = 0
    try:
        while sum(won.values()) < int(wins):
            row_id = chance.choice(rows)
            with app.sessionmaker() as session:
                job = session.get_one(Job, row_id)
                try:
                    job.fire("go")
                except ConcurrencyError:
                    lost += 1
                    continue  # someone else moved it since we read it: nothing was written
                won[row_id] += 1
    finally:
        app.close()
    print(json.dumps({"won": {str(row_id): count for row_id, count in won.items()}, "lost": lost}))


if __name__ == "__main__":
    main()
