"""Payload archives: where each archived payload went, and when it was restored.

Also turns payloads and contexts stored as the JSON text ``null`` (written before 0002) into SQL NULL.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_COLUMNS = (
    ("archive_uri", sa.String(1000)),
    ("archive_entry", sa.String(100)),
    ("archive_sha256", sa.String(64)),
    ("archived_at", sa.DateTime(timezone=True)),
    ("restored_at", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    """Add the archive columns; JSON ``null`` payloads become SQL NULL."""
    with op.batch_alter_table("statuses") as table:
        for name, type_ in _COLUMNS:
            table.add_column(sa.Column(name, type_, nullable=True))
    for column in ("payload", "context"):
        op.execute(f"UPDATE statuses SET {column} = NULL WHERE CAST({column} AS TEXT) = 'null'")
    op.create_index(
        "ix_statuses_unarchived",
        "statuses",
        ["id"],
        postgresql_where=sa.text("archived_at IS NULL"),
        sqlite_where=sa.text("archived_at IS NULL"),
    )


def downgrade() -> None:
    """Drop the archive columns (archived payloads stay in their archives)."""
    op.drop_index("ix_statuses_unarchived", "statuses")
    with op.batch_alter_table("statuses") as table:
        for name, _ in reversed(_COLUMNS):
            table.drop_column(name)
