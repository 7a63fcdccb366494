"""Alembic environment for Statewright's tables; run through ``engine.migrations.upgrade``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from engine.db import DEFAULT_DATABASE_URL
from engine.migrations.upgrade import VERSION_TABLE
from engine.orm.tables import metadata


def _run() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=metadata, version_table=VERSION_TABLE)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(context.config.get_main_option("sqlalchemy.url") or DEFAULT_DATABASE_URL)
    with engine.begin() as own:
        context.configure(connection=own, target_metadata=metadata, version_table=VERSION_TABLE)
        with context.begin_transaction():
            context.run_migrations()


_run()
