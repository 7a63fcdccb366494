"""``statewright init`` and ``new`` as a newcomer uses them: the files they write lint clean, pass ruff and
mypy --strict, and run; nothing that exists is overwritten; bad names are one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from engine.cli import EXIT_OK, EXIT_USAGE
from tests.acceptance.lines import assert_one_line, invoke

BIN = Path(sys.executable).parent


def _run(folder: Path, *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=folder, capture_output=True, text=True, check=False, timeout=300)


def test_init_then_new_give_a_project_that_lints_type_checks_and_runs(tmp_path: Path) -> None:
    project = tmp_path / "shop"
    done = _run(tmp_path, str(BIN / "statewright"), "init", "shop", "--package", "shop_app")
    assert done.returncode == EXIT_OK, done.stderr
    assert "created shop/machines/ticket.yaml" in done.stdout
    assert "statewright lint --resolve machines/" in done.stdout
    tested = _run(project, sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests")
    assert tested.returncode == 0, tested.stdout  # the generated test, on engine.testing's `statewright` fixture
    assert "1 passed" in tested.stdout
    added = _run(
        project,
        str(BIN / "statewright"),
        "new",
        "order",
        "--model",
        "shop_app.models:Order",
        "--states",
        "new,paid,sent",
    )
    assert added.returncode == EXIT_OK, added.stderr
    assert (
        (project / "machines" / "order.yaml")
        .read_text()
        .startswith("# yaml-language-server: $schema=machine.schema.json")
    )
    stubs = _run(project, str(BIN / "statewright"), "scaffold", "machines/order.yaml")
    assert "stub shop_app.models:Order (the model)" in stubs.stdout
    lint = _run(project, str(BIN / "statewright"), "lint", "--resolve", "machines/")
    clean = (EXIT_OK, "All 2 machine files are clean.")
    assert (lint.returncode, lint.stdout.strip()) == clean, lint.stdout + lint.stderr
    retested = _run(project, sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests")
    assert "1 passed" in retested.stdout, retested.stdout  # both machines load in the fixture now
    ruff = _run(project, str(BIN / "ruff"), "check", "--isolated", "--select", "E,F,W,I,UP,B", "shop_app", "tests")
    assert ruff.returncode == 0, ruff.stdout
    formatted = _run(project, str(BIN / "ruff"), "format", "--isolated", "--check", "shop_app", "tests")
    assert formatted.returncode == 0, formatted.stdout
    mypy = _run(project, str(BIN / "mypy"), "--strict", "--no-incremental", "shop_app", "tests")
    assert mypy.returncode == 0, mypy.stdout
    ran = _run(project, sys.executable, "-m", "shop_app.app")
    assert ran.returncode == 0, ran.stderr
    assert "['create -> open', 'assign -> assigned', 'resolve -> resolved']" in ran.stdout


REFUND = """\
version: 1
name: refund
model: shop.refunds:Refund
initial: asked
states:
  asked: {events: [refund.asked]}
  granted: {final: true}
  refused: {final: true}
guards:
  small: shop.rules:is_small
transitions:
  - {name: grant, from: asked, to: granted, guard: small, actions: [shop.rules:pay_back]}
  - {name: refuse, from: asked, to: refused}
tasks:
  check: {when: asked, run: shop.work:check, complete: granted, error: refused}
endpoints:
  bank:
    {when: asked, url: /refunds, method: POST, payload: shop.work:to_bank, response: shop.work:from_bank,
     complete: granted, error: refused}
listeners:
  - {event: refund.asked, run: shop.work:notify}
"""


def test_scaffold_writes_a_typed_stub_for_every_dotted_path_and_then_nothing(tmp_path: Path) -> None:
    machine = tmp_path / "refund.yaml"
    machine.write_text(REFUND)
    written = _run(tmp_path, str(BIN / "statewright"), "scaffold", str(machine))
    assert written.returncode == EXIT_OK, written.stderr
    for stub in ("shop.refunds:Refund", "shop.rules:is_small", "shop.rules:pay_back", "shop.work:check",
                 "shop.work:to_bank", "shop.work:from_bank", "shop.work:notify"):  # fmt: skip
        assert f"stub {stub} (" in written.stdout
    lint = _run(tmp_path, str(BIN / "statewright"), "lint", "--resolve", str(machine))
    assert (lint.returncode, lint.stdout.strip()) == (EXIT_OK, "1 machine file is clean."), lint.stdout
    for check in (
        [str(BIN / "ruff"), "check", "--isolated", "--select", "E,F,W,I,UP,B", "shop"],
        [str(BIN / "ruff"), "format", "--isolated", "--check", "shop"],
        [str(BIN / "mypy"), "--strict", "--no-incremental", "shop"],
    ):
        done = _run(tmp_path, *check)
        assert done.returncode == 0, done.stdout
    again = _run(tmp_path, str(BIN / "statewright"), "scaffold", str(machine))
    assert again.stdout.strip() == "Nothing to write: every dotted path resolves."


def test_scaffold_keeps_the_lines_of_a_module_that_exists(tmp_path: Path) -> None:
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "__init__.py").write_text("")
    rules = tmp_path / "shop" / "rules.py"
    rules.write_text(
        '"""My rules."""\n\nLIMIT = 100\n\n\ndef is_small(obj: object, context: object) -> bool:\n    return True\n'
    )
    machine = tmp_path / "refund.yaml"
    machine.write_text(REFUND)
    _run(tmp_path, str(BIN / "statewright"), "scaffold", str(machine))
    text = rules.read_text()
    assert text.startswith('"""My rules."""\n')
    assert "LIMIT = 100\n" in text
    assert text.count("def is_small") == 1
    assert "def pay_back(obj: Refund, context: Mapping[str, Any]) -> None:" in text


def test_scaffold_of_a_module_that_does_not_import_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "__init__.py").write_text("")
    (tmp_path / "shop" / "rules.py").write_text("def broken(:\n")
    machine = tmp_path / "refund.yaml"
    machine.write_text(REFUND)
    result = invoke("scaffold", str(machine), "--root", str(tmp_path))
    assert_one_line(result, EXIT_USAGE, "statewright scaffold: shop.rules cannot be imported: SyntaxError")


def test_init_keeps_every_file_that_exists_and_says_so(tmp_path: Path) -> None:
    (tmp_path / "machines").mkdir()
    mine = tmp_path / "machines" / "ticket.yaml"
    mine.write_text("my own machine\n")
    first = invoke("init", str(tmp_path))
    assert first.exit_code == EXIT_OK
    assert f"kept    {mine} (exists)" in first.output
    assert mine.read_text() == "my own machine\n"
    again = invoke("init", str(tmp_path))
    assert again.exit_code == EXIT_OK
    assert "Nothing written: every file exists." in again.output


def test_new_never_overwrites_a_machine(tmp_path: Path) -> None:
    folder = tmp_path / "machines"
    assert invoke("new", "order", "--model", "app.models:Order", "--folder", str(folder)).exit_code == EXIT_OK
    (folder / "order.yaml").write_text("edited\n")
    again = invoke("new", "order", "--model", "app.models:Order", "--folder", str(folder))
    assert_one_line(again, EXIT_USAGE, f"statewright new: {folder / 'order.yaml'} exists; it was kept")
    assert (folder / "order.yaml").read_text() == "edited\n"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["Order", "--model", "app.models:Order"], "machine name 'Order': use a lower-case letter"),
        (["order", "--model", "app.models.Order"], "--model 'app.models.Order': write it as package.module:Class."),
        (["order", "--model", "a:B", "--states", "new"], "--states: give at least two different states"),
        (["order", "--model", "a:B", "--states", "new,New"], "--states: 'New' is not a lower-case identifier."),
        (["order", "--model", "a:B", "--states", "new,new"], "--states: give at least two different states"),
    ],
)
def test_new_refuses_names_the_format_would_refuse_in_one_line(
    tmp_path: Path, arguments: list[str], message: str
) -> None:
    result = invoke("new", *arguments, "--folder", str(tmp_path))
    assert_one_line(result, EXIT_USAGE, f"statewright new: {message}")
    assert not list(tmp_path.iterdir())


def test_init_refuses_a_package_name_python_cannot_import(tmp_path: Path) -> None:
    result = invoke("init", str(tmp_path), "--package", "my-app")
    assert_one_line(result, EXIT_USAGE, "statewright init: --package 'my-app': use a lower-case Python name")
    assert not list(tmp_path.iterdir())
