"""Failure records: background work that failed for good without an object state to show it, and resends.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create ``statewright_failures``."""
    op.create_table(
        "statewright_failures",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("machine", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("outbox_id", sa.BigInteger, nullable=True),
        sa.Column("model_type", sa.String(200), nullable=True),
        sa.Column("model_id", sa.String(100), nullable=True),
        sa.Column("message", sa.JSON, nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("exception_type", sa.String(200), nullable=True),
        sa.Column("exception_message", sa.Text, nullable=True),
        sa.Column("exception_traceback", sa.Text, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retried_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_failures_status", "statewright_failures", ["status", "id"])


def downgrade() -> None:
    """Drop the failure records."""
    op.drop_index("ix_failures_status", "statewright_failures")
    op.drop_table("statewright_failures")
