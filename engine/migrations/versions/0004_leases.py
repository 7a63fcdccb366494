"""Leases: the outbox row that started a task or an endpoint records which message claimed it, until when.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_COLUMNS = (
    ("claimed_by", sa.String(100)),
    ("lease_until", sa.DateTime(timezone=True)),
    ("claim_id", sa.BigInteger()),
)


def upgrade() -> None:
    """Add the lease columns (rows claimed before stay without a lease and keep the old rule)."""
    with op.batch_alter_table("statewright_outbox") as table:
        for name, type_ in _COLUMNS:
            table.add_column(sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    """Drop the lease columns."""
    with op.batch_alter_table("statewright_outbox") as table:
        for name, _ in reversed(_COLUMNS):
            table.drop_column(name)
