"""What tests running ``statewright worker`` in processes of its own share: the services and a base URL.

Import the fixtures into a test module (``from tests.work.processes import redis_broker_url, postgres_database_url``) to
override the in-process defaults of ``tests/work/conftest.py``.
"""

from __future__ import annotations

import pytest

from tests.work.conftest import BROKER_URLS

#: The machines include an endpoint with a path URL; the worker needs a base URL, though no call is made.
NO_CALLS = "http://127.0.0.1:9"


@pytest.fixture(name="broker_url")
def redis_broker_url() -> str:
    """Processes share a broker: Redis."""
    return BROKER_URLS["redis"]


@pytest.fixture(name="database_url")
def postgres_database_url(postgres_url: str) -> str:
    """Processes share a database: PostgreSQL."""
    return postgres_url
