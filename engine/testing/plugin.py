"""The pytest plugin of ``engine.testing`` (registered by the package as ``statewright``).

Set where your machines are in pytest's configuration (relative to its root folder)::

    [tool.pytest.ini_options]
    statewright_machines = "machines"
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from engine.testing.harness import FlowTest

#: The ini option naming the machine file or folder the ``statewright`` fixture loads.
MACHINES_OPTION = "statewright_machines"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(MACHINES_OPTION, "Machine file or folder the statewright fixture loads.", default="machines")


@pytest.fixture
def statewright(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FlowTest]:
    """A ``FlowTest``: the machines on a SQLite database in ``tmp_path``, the in-process broker, a fake clock."""
    from engine.testing.harness import FlowTest  # the app's imports load when a test asks, not with pytest

    machines = Path(str(request.config.getini(MACHINES_OPTION)))
    if not machines.is_absolute():
        machines = request.config.rootpath / machines
    flow = FlowTest(machines, tmp_path)
    yield flow
    flow.close()
