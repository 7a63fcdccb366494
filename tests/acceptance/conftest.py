"""Fixtures of the command-line tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.acceptance.lines import ready_database


@pytest.fixture(name="ready_database")
def ready_database_fixture(tmp_path: Path) -> str:
    """A SQLite database with Statewright's tables and the documents table."""
    return ready_database(tmp_path)
