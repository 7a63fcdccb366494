"""Guards of the device machine that are code rather than expressions."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from examples.devices.models import SmartDevice


def maintenance_scheduled(device: SmartDevice, context: Mapping[str, Any]) -> bool:
    """A maintenance window is set and has begun."""
    return device.maintenance_at is not None and device.maintenance_at <= datetime.now(UTC)
