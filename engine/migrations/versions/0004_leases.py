"""Leases: which Dramatiq message holds the claim of a task's or endpoint's outbox row, and until when.

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

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create ``statewright_leases`` (objects claimed before have no lease and keep the old rule)."""
    op.create_table(
        "statewright_leases",
        sa.Column("outbox_id", _ID, primary_key=True, autoincrement=False),
        sa.Column("claimed_by", sa.String(100), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claim_id", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    """Drop the leases."""
    op.drop_table("statewright_leases")
