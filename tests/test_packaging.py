"""The installed distribution says what it is: its licence, its classifiers and its README."""

from __future__ import annotations

import tomllib
from importlib.metadata import distribution

from tests.conftest import ROOT

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_the_licence_file_is_mit_for_the_contributors() -> None:
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License")
    assert "Copyright (c) 2026 Statewright contributors" in text


def test_the_installed_metadata_carries_the_licence_classifiers_and_readme() -> None:
    """Read from the editable install: a stale install (pyproject changed since) fails here too."""
    installed = distribution("statewright")
    metadata = installed.metadata
    assert metadata["License-Expression"] == "MIT"
    assert metadata.get_all("License-File") == ["LICENSE"]
    assert sorted(metadata.get_all("Classifier") or []) == sorted(PROJECT["classifiers"])
    assert "Typing :: Typed" in PROJECT["classifiers"]
    assert metadata["Description-Content-Type"] == "text/markdown"
    assert "\n\n# Statewright\n" in (installed.read_text("METADATA") or "")  # the README is the long description
    licence = installed.locate_file(f"statewright-{installed.version}.dist-info/licenses/LICENSE")
    assert "Statewright contributors" in licence.read_text()
