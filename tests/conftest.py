"""Shared fixtures: paths to the shipped machines and the case files."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MACHINES = ROOT / "machines"
CASES = Path(__file__).resolve().parent / "cases"


@pytest.fixture
def document_yaml() -> Path:
    """The shipped document machine."""
    return MACHINES / "document.yaml"
