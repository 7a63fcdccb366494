"""The smart device model: ``status`` holds the state names of machines/smart_device.yaml."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from engine import Stateful, StatusEnum, StatusType
from examples.base import Base


class SmartDevice(Base, Stateful):
    """A connected device."""

    __tablename__ = "smart_devices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[StatusEnum] = mapped_column(StatusType(String(20)), index=True)
    device_id: Mapped[str] = mapped_column(String(64), unique=True)
    task_id: Mapped[str | None] = mapped_column(String(64), default=None)
    maintenance_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    last_error: Mapped[str | None] = mapped_column(String(200), default=None)
    connected_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
