"""Actions of the device machine."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from examples.devices.models import SmartDevice


def register_device(device: SmartDevice, context: Mapping[str, Any]) -> None:
    """Note when the device came online."""
    device.connected_at = datetime.now(UTC)


def begin_task(device: SmartDevice, context: Mapping[str, Any]) -> None:
    """Remember the task the device works on."""
    device.task_id = context["task_id"]


def report_completion(device: SmartDevice, context: Mapping[str, Any]) -> None:
    """The device finished its task."""
    device.task_id = None


def prepare_maintenance(device: SmartDevice, context: Mapping[str, Any]) -> None:
    """Drop the current task before maintenance."""
    device.task_id = None


def log_error(device: SmartDevice, context: Mapping[str, Any]) -> None:
    """Keep the device's error message."""
    device.last_error = str(context.get("error_message", "unknown error"))[:200]


def cleanup_connection(device: SmartDevice, context: Mapping[str, Any]) -> None:
    """Forget the connection."""
    device.connected_at = None


def initiate_connection(device: SmartDevice, context: Mapping[str, Any]) -> None:
    """Nothing to store until the device answers; the timeout moves it back offline."""
