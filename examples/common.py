"""Shared set-up of the example apps: the machines folder, and a Statewright with its tables."""

from __future__ import annotations

from pathlib import Path

from engine import Statewright
from engine.migrations.upgrade import upgrade
from examples.base import Base

#: The machines shipped with Statewright.
MACHINES = Path(__file__).resolve().parents[1] / "machines"


def start(machines: list[str], database_url: str) -> Statewright:
    """Load the named machine files, bind their models, and create every table they need."""
    from engine import load_spec

    app = Statewright([load_spec(MACHINES / f"{name}.yaml") for name in machines], database_url=database_url)
    upgrade(app.engine)
    Base.metadata.create_all(app.engine)
    return app
