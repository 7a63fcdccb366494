"""The shipped migrations build exactly the tables `engine.metadata` describes, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import inspect

from engine import Statewright, metadata
from engine.cli import EXIT_OK, main
from engine.migrations.upgrade import downgrade


def test_the_migrated_schema_matches_the_metadata(app: Statewright) -> None:
    with app.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": "statewright_alembic_version"})
        differences = [d for d in compare_metadata(context, metadata) if _concerns_our_tables(d)]
    assert differences == []


def _concerns_our_tables(difference: Any) -> bool:
    """Other tests' tables share the database; only differences touching Statewright's tables count."""
    if isinstance(difference, list):  # column modifications come grouped
        return any(_concerns_our_tables(item) for item in difference)
    subject = difference[1] if len(difference) > 1 else None
    table = getattr(subject, "table", subject)
    name = getattr(table, "name", None) or (difference[2] if len(difference) > 2 else None)
    return name in metadata.tables


def test_downgrade_to_base_removes_the_tables(app: Statewright) -> None:
    downgrade(app.engine, "base")
    tables = set(inspect(app.engine).get_table_names())
    assert not tables & {"statuses", "statewright_outbox"}


def test_db_upgrade_on_the_command_line(database_url: str) -> None:
    result = CliRunner().invoke(main, ["db", "upgrade", "--database-url", database_url])
    assert result.exit_code == EXIT_OK, result.output
    assert "at revision head" in result.output


def test_0002_turns_json_null_payloads_into_sql_null_and_back_down(app: Statewright) -> None:
    from datetime import UTC, datetime

    from sqlalchemy import text

    from engine.migrations.upgrade import upgrade

    downgrade(app.engine, "0001")
    with app.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO statuses (machine, model_type, model_id, to_state, transition, payload, context, "
                "created_at) "
                "VALUES ('m', 't', '1', 's', 'create', 'null', 'null', :now), "
                "('m', 't', '2', 's', 'go', :kept, NULL, :now)"
            ),
            {"now": datetime.now(UTC), "kept": '{"a": 1}'},
        )
    upgrade(app.engine)
    with app.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT model_id, payload IS NULL, context IS NULL FROM statuses ORDER BY model_id")
        ).all()
    assert [tuple(row) for row in rows] == [("1", True, True), ("2", False, True)]
    downgrade(app.engine, "0001")
    assert "archive_uri" not in {column["name"] for column in inspect(app.engine).get_columns("statuses")}
