"""The demo shipped in the package (``engine/demo``) stays the repository's document machine and example."""

from __future__ import annotations

from sqlalchemy import inspect

from engine.demo import DEMO_MACHINE
from engine.demo.models import Document as PackagedDocument
from examples.documents.models import Document
from tests.conftest import ROOT


def test_the_packaged_machine_is_the_shipped_one_with_its_paths_in_the_package() -> None:
    shipped = (ROOT / "machines" / "document.yaml").read_text().splitlines(keepends=True)
    assert shipped[0].startswith("# yaml-language-server:")  # the modeline points into the repository only
    expected = "".join(shipped[1:]).lstrip("#\n").replace("examples.documents.", "engine.demo.")
    assert DEMO_MACHINE.read_text().lstrip("#\n") == expected


def test_the_packaged_model_and_handlers_are_the_examples() -> None:
    def columns(model: type) -> list[tuple[str, str]]:
        return [(c.name, repr(c.type)) for c in inspect(model).columns]

    assert columns(PackagedDocument) == columns(Document)
    packaged = (ROOT / "engine" / "demo" / "work.py").read_text()
    example = (ROOT / "examples" / "documents" / "work.py").read_text()
    assert packaged == example.replace("examples.documents.models", "engine.demo.models")
