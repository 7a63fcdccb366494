"""lint --resolve imports what a machine names and checks it is callable, and that the model has the column."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli import EXIT_OK, EXIT_PROBLEMS, main
from engine.spec import check_text
from engine.spec.resolve import resolve_spec

PACKAGE = {
    "__init__.py": "",
    "models.py": """
        from sqlalchemy import Integer, String
        from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

        class Base(DeclarativeBase):
            pass

        class Ticket(Base):
            __tablename__ = "tickets"
            id: Mapped[int] = mapped_column(Integer, primary_key=True)
            state: Mapped[str] = mapped_column(String(20))

        class NotMapped:
            pass
    """,
    "hooks.py": """
        def allowed(model, context):
            return True

        def act(model, context):
            pass

        NOT_CALLABLE = 42
    """,
    "broken.py": "raise RuntimeError('boom at import')\n",
}

MACHINE = """\
version: 1
name: ticket
model: {model}
field: {field}
initial: open
guards: {{allowed: "{guard}"}}
states:
  open: {{}}
  closed: {{final: true}}
transitions:
  - {{name: close, from: open, to: closed, guard: allowed, actions: ["{action}"]}}
"""


@pytest.fixture
def app_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A real importable package with a SQLAlchemy model and hooks."""
    package = tmp_path / "resolve_app"
    package.mkdir()
    for name, source in PACKAGE.items():
        (package / name).write_text(textwrap.dedent(source))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "resolve_app"
    for module in [m for m in sys.modules if m.startswith("resolve_app")]:
        del sys.modules[module]


def _problems(**overrides: str) -> list[tuple[str, int, int]]:
    values = {
        "model": "resolve_app.models:Ticket",
        "field": "state",
        "guard": "resolve_app.hooks:allowed",
        "action": "resolve_app.hooks:act",
        **overrides,
    }
    checked = check_text(MACHINE.format(**values), "ticket.yaml")
    assert checked.spec is not None, [d.render() for d in checked.diagnostics]
    return [(d.code, d.location.line, d.location.col) for d in resolve_spec(checked.spec)]


def test_a_machine_whose_names_all_resolve_is_clean(app_package: str) -> None:
    assert _problems() == []


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"model": "resolve_app.nope:Ticket"}, [("SW501", 3, 8)]),
        ({"model": "resolve_app.broken:Ticket"}, [("SW501", 3, 8)]),
        ({"model": "resolve_app.models:Tikcet"}, [("SW502", 3, 8)]),
        ({"model": "resolve_app.models:NotMapped"}, [("SW504", 3, 8)]),
        ({"field": "status"}, [("SW504", 4, 8)]),
        ({"guard": "resolve_app.hooks:NOT_CALLABLE"}, [("SW503", 6, 20)]),
        ({"action": "resolve_app.hooks:missing"}, [("SW502", 11, 70)]),
    ],
)
def test_each_unresolvable_name_is_reported_where_it_is_written(
    app_package: str, overrides: dict[str, str], expected: list[tuple[str, int, int]]
) -> None:
    assert _problems(**overrides) == expected


def test_an_import_error_names_the_exception(app_package: str) -> None:
    checked = check_text(
        MACHINE.format(
            model="resolve_app.broken:X",
            field="state",
            guard="resolve_app.hooks:allowed",
            action="resolve_app.hooks:act",
        )
    )
    assert checked.spec is not None
    (problem,) = resolve_spec(checked.spec)
    assert "RuntimeError: boom at import" in problem.message


def test_lint_resolve_on_the_command_line(app_package: str, tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(
        MACHINE.format(
            model="resolve_app.models:Ticket",
            field="state",
            guard="resolve_app.hooks:allowed",
            action="resolve_app.hooks:act",
        )
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        MACHINE.format(
            model="resolve_app.models:Ticket",
            field="nope",
            guard="resolve_app.hooks:allowed",
            action="resolve_app.hooks:act",
        )
    )
    runner = CliRunner()
    assert runner.invoke(main, ["lint", "--resolve", "--path", str(tmp_path), str(good)]).exit_code == EXIT_OK
    result = runner.invoke(main, ["lint", "--resolve", "--path", str(tmp_path), str(bad)])
    assert result.exit_code == EXIT_PROBLEMS
    assert f"{bad}:4:8: SW504" in result.output
