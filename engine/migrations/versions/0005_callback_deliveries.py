"""Callback deliveries: the inbound deliveries already processed, remembered against replays until they expire.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``statewright_callback_deliveries``."""
    op.create_table(
        "statewright_callback_deliveries",
        sa.Column("machine", sa.String(100), primary_key=True),
        sa.Column("callback", sa.String(100), primary_key=True),
        sa.Column("model_id", sa.String(100), primary_key=True),
        sa.Column("delivery", sa.String(200), primary_key=True),
        sa.Column("status_change_id", sa.BigInteger, nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_callback_deliveries_expires_at", "statewright_callback_deliveries", ["expires_at"])


def downgrade() -> None:
    """Drop the deliveries."""
    op.drop_index("ix_callback_deliveries_expires_at", "statewright_callback_deliveries")
    op.drop_table("statewright_callback_deliveries")
