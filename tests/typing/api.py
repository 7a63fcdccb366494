"""README-style use of the public API; `mypy --strict` must accept it (it is checked, not run)."""

from __future__ import annotations

from pathlib import Path

import engine
from engine.diagrams import build_graph, render_dot, render_mermaid


def lint_folder(folder: Path) -> list[str]:
    problems: list[str] = []
    for path in sorted(folder.glob("*.yaml")):
        checked: engine.CheckedFile = engine.check_file(path)
        problems.extend(diagnostic.render() for diagnostic in checked.diagnostics)
    return problems


def load_and_draw(path: str) -> tuple[str, str]:
    try:
        spec: engine.MachineSpec = engine.load_spec(path)
    except engine.DefinitionError as error:
        first: engine.Diagnostic = error.diagnostics[0]
        location: engine.Location = first.location
        raise SystemExit(f"{location.file}:{location.line}: {first.message}") from error
    graph = build_graph(spec)
    return render_dot(graph), render_mermaid(graph)


def states_of(folder: str) -> dict[str, list[str]]:
    return {name: list(spec.states) for name, spec in engine.load_specs(folder).items()}


def run_app() -> list[str]:
    from sqlalchemy import Integer
    from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

    class Base(DeclarativeBase):
        pass

    class Invoice(Base, engine.Stateful):
        __tablename__ = "invoices"
        id: Mapped[int] = mapped_column(Integer, primary_key=True)
        status: Mapped[engine.StatusEnum] = mapped_column(engine.StatusType(Integer()))

    app = engine.Statewright.from_path("machines/", database_url="sqlite://")
    with app.sessionmaker() as session:
        invoice = session.get_one(Invoice, 1)
        try:
            change: engine.StatusChange = invoice.fire("pay", amount=10, actor="me")
        except engine.GuardRejected as refused:
            return [refused.guard]
        except engine.ConcurrencyError:
            return []
        history: list[engine.StatusChange] = invoice.history()
        return [change.to_state, invoice.status.state, *(h.transition for h in history)]


def touching_and_emitting() -> list[str]:
    """``touch`` on an object and on the app, and ``emit`` from an action (issue 14)."""
    from collections.abc import Mapping
    from typing import Any

    def weigh(obj: Any, context: Mapping[str, Any]) -> None:
        engine.emit("parcel.weighed", {"grams": context["grams"]})

    app = engine.Statewright.from_path("examples/parcels/parcel.yaml", database_url="sqlite://")
    with app.sessionmaker() as session:
        parcel: engine.Stateful = session.get_one(engine.Stateful, 1)
        try:
            change: engine.StatusChange = parcel.touch(actor="me", reason="lost")
            again: engine.StatusChange = app.touch(parcel, reason="lost")
        except engine.NotTouchable as refused:
            return [refused.state, *refused.touchable]
        except (engine.EmitOutsideMove, engine.UndeclaredEventError) as misuse:
            return [str(misuse)]
        return [change.transition, again.transition]


def archiving() -> tuple[int, int]:
    """Payload archiving through the app, typed end to end."""
    from datetime import timedelta

    settings = engine.ArchiveSettings(
        uri="s3://bucket/history", s3_endpoint_url="http://127.0.0.1:9000", s3_path_style=True
    )
    app = engine.Statewright.from_path("machines/", database_url="sqlite://", archive_settings=settings)
    try:
        compressed = app.archiver.compress(older_than=timedelta(days=7), batch=500)
        restored = app.archiver.restore([1, 2, 3])
    except engine.ArchiveError:
        return (0, 0)
    failed: dict[int, str] = restored.failed
    return compressed.rows + len(failed), len(app.archiver.purge(older_than=timedelta(days=1)).purged)
