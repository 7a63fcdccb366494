"""Statewright's own tables: ``statuses`` (every status change), ``statewright_outbox`` (work to send),
``statewright_leases`` (who works on a claimed object), ``statewright_failures`` (work that failed for good,
or was resent) and ``statewright_callback_deliveries`` (callback deliveries already processed).

Apps that run their own Alembic can include ``metadata``; otherwise ``statewright db upgrade`` creates them.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    text,
)

#: The MetaData holding Statewright's tables.
metadata = MetaData()

# SQLite only auto-increments INTEGER PRIMARY KEY columns.
_ID = BigInteger().with_variant(Integer(), "sqlite")

#: One row per status change of any bound object.
statuses = Table(
    "statuses",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("machine", String(100), nullable=False),
    Column("model_type", String(200), nullable=False),
    Column("model_id", String(100), nullable=False),
    Column("from_state", String(100), nullable=True),
    Column("to_state", String(100), nullable=False),
    Column("transition", String(100), nullable=False),
    # none_as_null: Python None is SQL NULL, not the JSON text 'null' (so "has a payload" is IS NOT NULL).
    Column("payload", JSON(none_as_null=True), nullable=True),
    Column("context", JSON(none_as_null=True), nullable=True),
    Column("exception_type", String(200), nullable=True),
    Column("exception_message", Text, nullable=True),
    Column("exception_traceback", Text, nullable=True),
    Column("actor", String(200), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # Where the payload and traceback went when archived (see engine.archive), and when they came back.
    Column("archive_uri", String(1000), nullable=True),
    Column("archive_entry", String(100), nullable=True),
    Column("archive_sha256", String(64), nullable=True),
    Column("archived_at", DateTime(timezone=True), nullable=True),
    Column("restored_at", DateTime(timezone=True), nullable=True),
    Index("ix_statuses_model", "model_type", "model_id", "created_at"),
    Index("ix_statuses_created_at", "created_at"),
    # compress walks the rows not archived yet in id order; archived rows (most, in time) stay out of it.
    Index(
        "ix_statuses_unarchived",
        "id",
        postgresql_where=text("archived_at IS NULL"),
        sqlite_where=text("archived_at IS NULL"),
    ),
)

#: Work a status change triggers (events, tasks, endpoints, listeners, reactions), written in its transaction.
outbox = Table(
    "statewright_outbox",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("status_change_id", _ID, ForeignKey("statuses.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("name", String(200), nullable=False),
    Column("machine", String(100), nullable=False),
    Column("model_type", String(200), nullable=False),
    Column("model_id", String(100), nullable=False),
    Column("message", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True), nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Index("ix_outbox_unsent", "sent_at", "id"),
)

#: The lease of each claimed task or endpoint (see engine.work.leases): the Dramatiq message that holds the claim
#: of the outbox row's work, until when (the database's clock), and the claim's history row, which tells the
#: claim in force from an old one. A table of its own: a claim never waits for the relay's lock on the outbox row,
#: and the heartbeat's renewals touch small rows.
leases = Table(
    "statewright_leases",
    metadata,
    # No foreign key: a lease is looked up by its outbox row, never the other way round, and tools that drop
    # the outbox (an older version's test or benchmark setup) need not know this table.
    Column("outbox_id", _ID, primary_key=True, autoincrement=False),
    Column("claimed_by", String(100), nullable=False),
    Column("lease_until", DateTime(timezone=True), nullable=False),
    Column("claim_id", BigInteger, nullable=False),
)

#: Background work that failed for good without an object state to show it (listeners, reactions, work whose
#: object could not be moved to its error state), and work the sweeper resent; listed by ``statewright failures``.
failures = Table(
    "statewright_failures",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("machine", String(100), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("name", String(200), nullable=False),
    # No foreign key: the record must outlive its outbox row.
    Column("outbox_id", BigInteger, nullable=True),
    Column("model_type", String(200), nullable=True),
    Column("model_id", String(100), nullable=True),
    Column("message", JSON(none_as_null=True), nullable=True),
    # `failed` (open, can be retried), `retried` (sent again by an operator), `resent` (a note: the sweeper resent it).
    Column("status", String(20), nullable=False),
    Column("reason", Text, nullable=True),
    Column("exception_type", String(200), nullable=True),
    Column("exception_message", Text, nullable=True),
    Column("exception_traceback", Text, nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("retried_at", DateTime(timezone=True), nullable=True),
    Index("ix_failures_status", "status", "id"),
)

#: Callback deliveries already processed (see engine.callbacks): a provider's retry of one is answered 200 and
#: changes nothing. Written in the transaction of the move the delivery made, so a crash between the commit and
#: the answer leaves the retry a no-op. Rows past ``expires_at`` count as never seen.
callback_deliveries = Table(
    "statewright_callback_deliveries",
    metadata,
    Column("machine", String(100), primary_key=True),
    Column("callback", String(100), primary_key=True),
    Column("model_id", String(100), primary_key=True),
    # The delivery id header's value, or "sha256:" and the body's digest when the callback names no header.
    Column("delivery", String(200), primary_key=True),
    Column("status_change_id", BigInteger, nullable=True),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Index("ix_callback_deliveries_expires_at", "expires_at"),
)
