"""Alembic migrations of Statewright's own tables, tracked in their own version table."""
