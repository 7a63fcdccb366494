"""``statewright diagram`` writes the format its output's suffix names, or refuses."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from engine.cli import EXIT_OK, EXIT_USAGE, main
from tests.conftest import MACHINES

DOCUMENT = str(MACHINES / "document.yaml")


def draw(*args: str) -> Result:
    result = CliRunner().invoke(main, ["diagram", DOCUMENT, *args])
    print(result.output)
    return result


@pytest.mark.parametrize(
    ("name", "magic"),
    [
        ("document.pdf", b"%PDF-"),
        ("document.PDF", b"%PDF-"),
        ("document.svg", b"<svg"),
        ("document.png", b"\x89PNG"),
        ("document.dot", b"digraph document"),
        ("document.gv", b"digraph document"),
        ("document.mmd", b"stateDiagram-v2"),
        ("document.mermaid", b"stateDiagram-v2"),
    ],
)
def test_the_format_is_taken_from_the_output_suffix(tmp_path: Path, name: str, magic: bytes) -> None:
    result = draw("-o", str(tmp_path / name))
    assert result.exit_code == EXIT_OK
    assert magic in (tmp_path / name).read_bytes()[:400]


def test_a_short_f_option_gives_the_format(tmp_path: Path) -> None:
    result = draw("-f", "mermaid", "-o", str(tmp_path / "document.txt"))
    assert result.exit_code == EXIT_OK
    assert (tmp_path / "document.txt").read_text().startswith("stateDiagram-v2")


@pytest.mark.parametrize("name", ["document.txt", "document", "document.jpeg"])
def test_an_output_suffix_that_names_no_format_is_refused_without_f(tmp_path: Path, name: str) -> None:
    result = draw("-o", str(tmp_path / name))
    assert result.exit_code == EXIT_USAGE
    assert f"cannot tell the format of {tmp_path / name} from its suffix" in result.stderr
    assert "or give -f/--format" in result.stderr
    assert not (tmp_path / name).exists()


def test_a_format_that_contradicts_the_suffix_is_refused(tmp_path: Path) -> None:
    result = draw("-o", str(tmp_path / "document.svg"), "-f", "png")
    assert result.exit_code == EXIT_USAGE
    assert "names the svg format but -f says png" in result.stderr
    assert not (tmp_path / "document.svg").exists()
