"""The starter project ``statewright init`` writes: a commented machine, its model, its handlers."""

from __future__ import annotations

from engine.spec.schema import SCHEMA_FILE, schema_path

_MACHINE = """\
# yaml-language-server: $schema={schema}
#
# A support ticket: opened, assigned to someone, resolved. Every change of `status` is one transaction
# with a row in the history. Check it with `statewright lint --resolve machines/`, draw it with
# `statewright diagram machines/ticket.yaml -o ticket.svg`.
version: 1
name: ticket
description: A support ticket from opening to resolution.
model: {package}.models:Ticket
initial: open

states:
  open:
    description: Waiting for someone to take it.
    events: [ticket.opened]          # listeners and reactions can follow events
    timeout: {{after: 7d, to: stale}}  # `statewright sweep` (or the worker) moves it after a week
  assigned:
    description: Someone works on it.
  resolved:
    final: true
    events: [ticket.resolved]
  stale:
    defibrillate: open               # `statewright defibrillate ticket` restarts it from `open`

guards:
  has_assignee: "context.assignee != ''"     # an expression over model.* and context.*
  is_staff: {package}.handlers:is_staff       # or a function of yours

transitions:
  - name: assign
    from: open
    to: assigned
    guard: {{all: [has_assignee, is_staff]}}
    actions: [{package}.handlers:remember_assignee]
  - name: resolve
    from: assigned
    to: resolved

listeners:
  - {{event: ticket.resolved, run: {package}.handlers:announce_resolved}}
"""

_MODELS = '''\
"""The models the machines in machines/ drive."""

from __future__ import annotations

from engine import Stateful, StatusEnum, StatusType
from sqlalchemy import Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """Base class of this app's models."""


class Ticket(Base, Stateful):
    """A support ticket; machines/ticket.yaml moves its ``status``."""

    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[StatusEnum] = mapped_column(StatusType(String(20)), index=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    assignee: Mapped[str | None] = mapped_column(String(100), default=None)
'''

_HANDLERS = '''\
"""The code machines/ticket.yaml names: a guard, an action and a listener."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from {package}.models import Ticket

log = logging.getLogger(__name__)


def is_staff(ticket: Ticket, context: Mapping[str, Any]) -> bool:
    """Guard of ``assign``: runs before the move; False refuses it (nothing written)."""
    return bool(context.get("staff", False))


def remember_assignee(ticket: Ticket, context: Mapping[str, Any]) -> None:
    """Action of ``assign``: runs in the move's transaction, after the guards."""
    ticket.assignee = str(context["assignee"])


def announce_resolved(event: Mapping[str, Any]) -> None:
    """Listener of ``ticket.resolved``: runs on a worker after the commit."""
    log.info("ticket %s resolved", event["model_id"])
'''

_APP = '''\
"""Open a ticket, assign it and resolve it: ``python -m {package}.app``."""

from __future__ import annotations

from engine import Statewright
from engine.migrations.upgrade import upgrade

from {package}.models import Base, Ticket


def main(database_url: str = "sqlite:///tickets.db") -> str:
    """Run one ticket through the machine; returns its final state."""
    app = Statewright.from_path("machines/ticket.yaml", database_url=database_url)
    upgrade(app.engine)  # Statewright's tables; `statewright db upgrade` does the same
    Base.metadata.create_all(app.engine)
    with app.sessionmaker() as session:
        ticket = Ticket(title="The printer is on fire")
        session.add(ticket)
        session.commit()
        ticket.fire("assign", assignee="ada", staff=True)
        ticket.fire("resolve")
        print([f"{{c.transition}} -> {{c.to_state}}" for c in ticket.history()])
        state = ticket.status.state
    app.close()
    return state


if __name__ == "__main__":
    main()
'''


_TEST = '''\
"""The ticket machine, tested with the ``statewright`` fixture (engine.testing)."""

from __future__ import annotations

from engine.testing import FlowTest

from {package}.models import Ticket


def test_a_ticket_is_assigned_and_resolved(statewright: FlowTest) -> None:
    ticket = statewright.add(Ticket(title="The printer is on fire"))
    ticket.fire("assign", assignee="ada", staff=True)
    ticket.fire("resolve")
    statewright.drain()  # the ticket.resolved listener runs here
    statewright.assert_path(ticket, ["open", "assigned", "resolved"])
    statewright.assert_emitted("ticket.resolved")
'''

_PYPROJECT = """\
[tool.pytest.ini_options]
pythonpath = ["."]
# The machines the `statewright` fixture (engine.testing) loads.
statewright_machines = "machines"
"""


def project_files(package: str) -> dict[str, str]:
    """The files of a starter project whose code lives in the Python package ``package``."""
    return {
        f"machines/{SCHEMA_FILE}": schema_path().read_text(encoding="utf-8"),
        "machines/ticket.yaml": _MACHINE.format(schema=SCHEMA_FILE, package=package),
        f"{package}/__init__.py": '"""The app whose statuses Statewright drives."""\n',
        f"{package}/models.py": _MODELS,
        f"{package}/handlers.py": _HANDLERS.format(package=package),
        f"{package}/app.py": _APP.format(package=package),
        "tests/test_ticket.py": _TEST.format(package=package),
        "pyproject.toml": _PYPROJECT,
    }
