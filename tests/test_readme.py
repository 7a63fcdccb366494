"""The README stays true: every code block in it runs, and its rules table and diagram match the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine import load_spec
from engine.diagrams import build_graph, render_mermaid
from engine.spec import RULES_BY_CODE, check_text
from tests.conftest import MACHINES, ROOT
from tests.readme_blocks import (
    RUNS_UNTIL_STOPPED,
    Block,
    block_environment,
    checkout_copy,
    readme_blocks,
    run_block,
    run_until_stopped,
)

README = (ROOT / "README.md").read_text()
BLOCKS = readme_blocks(README)
RUNNABLE = [block for block in BLOCKS if block.lang in ("python", "sh") and block.shown_file is None]


def _id(block: Block) -> str:
    return f"line-{block.line}-{block.lang}"


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


def test_every_block_is_in_a_language_the_readme_test_knows() -> None:
    """A block in another language would silently go untested."""
    assert BLOCKS, "no code blocks found: the README test itself is broken"
    assert {block.lang for block in BLOCKS} <= {"python", "sh", "yaml", "mermaid", "text"}


def test_the_error_tree_in_the_readme_is_the_exception_hierarchy() -> None:
    """Each name in the drawn tree is exported by ``engine`` and subclasses the name it hangs from."""
    import engine

    (tree,) = [block for block in BLOCKS if block.lang == "text" and block.first_line == "StatewrightError"]
    parents: list[type] = []
    drawn = set()
    for line in tree.body.splitlines():
        match = re.match(r"^(?P<lead>[│├└─ ]*)(?P<name>\w+)", line)
        assert match, line
        depth = len(match["lead"]) // 4
        error = getattr(engine, match["name"])
        del parents[depth:]
        if parents:
            assert issubclass(error, parents[-1]), f"{error.__name__} is drawn under {parents[-1].__name__}"
        parents.append(error)
        drawn.add(error)
    exported = {getattr(engine, name) for name in engine.__all__}
    errors = {item for item in exported if isinstance(item, type) and issubclass(item, engine.StatewrightError)}
    assert errors <= drawn, f"exported but not drawn: {sorted(e.__name__ for e in errors - drawn)}"


def test_blocks_that_are_not_run_say_why() -> None:
    for block in BLOCKS:
        if block.first_line.startswith("# Not run"):
            assert block.skip_reason, f"{block} opts out of the README test without a reason"


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.shown_file], ids=_id)
def test_a_python_block_that_shows_a_file_is_that_file(block: Block) -> None:
    assert block.shown_file is not None
    shown = block.body.split("\n", 1)[1]
    assert shown == (ROOT / block.shown_file).read_text(), f"{block} no longer matches {block.shown_file}"


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.lang == "yaml" and "\nversion: 1\n" in b.body], ids=_id)
def test_a_machine_file_in_the_readme_lints_clean(block: Block) -> None:
    checked = check_text(block.body, f"README.md:{block.line}")
    assert [d.render() for d in checked.diagnostics] == []


SECTIONS = sorted({block.section for block in RUNNABLE}, key=lambda title: README.index(f"## {title}\n"))


@pytest.mark.parametrize("section", SECTIONS)
def test_every_python_and_shell_block_runs(section: str, tmp_path: Path, postgres_url: str) -> None:
    """A section's blocks run in order in one fresh copy of the repository, as a reader following it would.

    ``STATEWRIGHT_TEST_POSTGRES_URL`` names an empty PostgreSQL database, for blocks that show PostgreSQL.
    """
    folder = checkout_copy(ROOT, tmp_path)
    environment = block_environment({"STATEWRIGHT_TEST_POSTGRES_URL": postgres_url})
    ran = 0
    for block in (b for b in RUNNABLE if b.section == section and not b.skip_reason):
        if block.first_line.startswith(RUNS_UNTIL_STOPPED):
            outcome = run_until_stopped(block, folder, environment)
        else:
            outcome = run_block(block, folder, environment)
        assert outcome.returncode == 0, outcome.describe(block)
        assert "Traceback" not in outcome.output, outcome.describe(block)
        ran += 1
    if not ran:
        pytest.skip(f"every block of '{section}' says why it is not run")
