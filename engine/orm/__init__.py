"""The SQLAlchemy side: the history and outbox tables, the status column type, and bound models."""

from engine.orm.binding import Stateful
from engine.orm.tables import metadata, outbox, statuses
from engine.orm.types import StatusType

__all__ = ["StatusType", "Stateful", "metadata", "outbox", "statuses"]
