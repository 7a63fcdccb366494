"""The status history and the outbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create ``statuses`` and ``statewright_outbox``."""
    op.create_table(
        "statuses",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("machine", sa.String(100), nullable=False),
        sa.Column("model_type", sa.String(200), nullable=False),
        sa.Column("model_id", sa.String(100), nullable=False),
        sa.Column("from_state", sa.String(100), nullable=True),
        sa.Column("to_state", sa.String(100), nullable=False),
        sa.Column("transition", sa.String(100), nullable=False),
        sa.Column("payload", sa.JSON, nullable=True),
        sa.Column("context", sa.JSON, nullable=True),
        sa.Column("exception_type", sa.String(200), nullable=True),
        sa.Column("exception_message", sa.Text, nullable=True),
        sa.Column("exception_traceback", sa.Text, nullable=True),
        sa.Column("actor", sa.String(200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_statuses_model", "statuses", ["model_type", "model_id", "created_at"])
    op.create_index("ix_statuses_created_at", "statuses", ["created_at"])
    op.create_table(
        "statewright_outbox",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("status_change_id", _ID, sa.ForeignKey("statuses.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("machine", sa.String(100), nullable=False),
        sa.Column("model_type", sa.String(200), nullable=False),
        sa.Column("model_id", sa.String(100), nullable=False),
        sa.Column("message", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
    )
    op.create_index("ix_outbox_unsent", "statewright_outbox", ["sent_at", "id"])


def downgrade() -> None:
    """Drop both tables."""
    op.drop_table("statewright_outbox")
    op.drop_table("statuses")
