"""The machines' work under Dramatiq's own command: ``dramatiq examples.dramatiq_worker:broker``.

Every worker process Dramatiq starts imports this module, so each builds its own app (its own database
engine) from the ``STATEWRIGHT_*`` variables. ``statewright worker`` adds the periodic sweep itself; here
``add_sweeper`` does, or nothing would send unsent outbox rows, resend lost work or move timed-out objects.
"""

from __future__ import annotations

from engine import Settings, Statewright
from engine.work.sweeper import add_sweeper

settings = Settings.from_env()  # STATEWRIGHT_MACHINES, STATEWRIGHT_DATABASE_URL, STATEWRIGHT_BROKER_URL, …
app = Statewright.from_path(settings.machines, settings=settings)
add_sweeper(app, every=30)  # seconds between sweeps; resend_after= as --resend-after
broker = app.broker
