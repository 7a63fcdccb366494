"""A smart device: connect with a healthy heartbeat, work, fail, be defibrillated, reconnect.

Run: ``python -m examples.devices.app [DATABASE_URL]``. Each run adds a device (thermostat-1, thermostat-2, ...),
so the database keeps every earlier run's devices and their histories.
"""

from __future__ import annotations

import sys

from sqlalchemy import func, select

from examples.common import start
from examples.devices.models import SmartDevice


def main(database_url: str = "sqlite:///devices.db") -> list[str]:
    """Walk one device through its life; return the states it passed."""
    app = start(["smart_device"], database_url)
    with app.sessionmaker() as session:
        name = f"thermostat-{(session.scalar(select(func.count()).select_from(SmartDevice)) or 0) + 1}"
        device = SmartDevice(device_id=name)
        session.add(device)
        session.commit()
        device.fire("reconnect")
        print(f"heartbeat from another device: {device.why_not('device_connected', status='healthy', device_id='x')}")
        device.fire("device_connected", status="healthy", device_id=name)
        device.fire("start_task", task_id="calibrate")
        device.fire("handle_error", error_message="sensor timeout")
        device.defibrillate(actor="ops")
        device.fire("device_connected", status="healthy", device_id=name)
        states = [change.to_state for change in device.history()]
        print(" -> ".join(states))
    app.engine.dispose()
    return states


if __name__ == "__main__":
    main(*sys.argv[1:2])
