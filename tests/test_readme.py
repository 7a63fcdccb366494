"""The README stays true: its rules table, its diagram and its commands match the code."""

from __future__ import annotations

import re

from engine import load_spec
from engine.diagrams import build_graph, render_mermaid
from engine.spec import RULES_BY_CODE
from tests.conftest import MACHINES, ROOT

README = (ROOT / "README.md").read_text()


def test_the_readme_documents_every_diagnostic_code() -> None:
    for rule in RULES_BY_CODE.values():
        assert f"| `{rule.code}` | {rule.slug} | {rule.severity.value} |" in README


def test_the_readme_mermaid_diagram_is_the_current_render() -> None:
    rendered = render_mermaid(build_graph(load_spec(MACHINES / "document.yaml")))
    assert f"```mermaid\n{rendered}```" in README


def test_the_readme_has_exactly_two_setup_commands_and_ci_runs_the_test_one() -> None:
    setup = README.split("## Set up", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```sh\n(.*?)\n```", setup, flags=re.S)
    assert len(commands) == 2
    assert commands[0].endswith("statewright demo")
    assert commands[1] == "bash .ci/test"
    assert "bash .ci/test" in (ROOT / ".ci" / "run").read_text()
