"""Storage: Statewright's tables (history, outbox, failures, leases) and the status column type.

Nothing here runs a machine; the binding of models to machines is ``engine.runtime.binding``.
"""

from __future__ import annotations

import warnings
from typing import Any

from engine.orm.tables import metadata, outbox, statuses
from engine.orm.types import StatusType


def __getattr__(name: str) -> Any:
    # ``from engine.orm import Stateful`` was the documented import before the binding moved to the runtime.
    if name == "Stateful":
        from engine.runtime.binding import Stateful

        warnings.warn(
            "engine.orm.Stateful moved: import it with `from engine import Stateful`.", DeprecationWarning, stacklevel=2
        )
        return Stateful
    raise AttributeError(f"module 'engine.orm' has no attribute {name!r}")


__all__ = ["StatusType", "metadata", "outbox", "statuses"]
