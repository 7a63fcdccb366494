"""Shared fixtures: paths to the shipped machines and the case files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# `HYPOTHESIS_PROFILE=deep pytest tests/spec/test_fuzz.py` hunts longer than the default run.
settings.register_profile("default", max_examples=300, deadline=None)
settings.register_profile("deep", max_examples=5000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

ROOT = Path(__file__).resolve().parents[1]
MACHINES = ROOT / "machines"
CASES = Path(__file__).resolve().parent / "cases"


@pytest.fixture
def document_yaml() -> Path:
    """The shipped document machine."""
    return MACHINES / "document.yaml"
