"""Table definitions (SQLAlchemy Core), shared by SQLite and PostgreSQL."""

from sqlalchemy import BigInteger, Column, Float, Index, Integer, LargeBinary, MetaData, String, Table, Text

SCHEMA_VERSION = 1

metadata = MetaData()

# One row per job: where the stream stands. Written in the same transaction as the
# model rows below, so model state and offset can never disagree after a crash.
checkpoints = Table(
    "checkpoints",
    metadata,
    Column("job", String(64), primary_key=True),
    Column("source", Text, nullable=False),
    Column("offset", Text),  # JSON; None before the first record
    Column("records_read", BigInteger, nullable=False, default=0),
    Column("events_applied", BigInteger, nullable=False, default=0),
    Column("dead_letters", BigInteger, nullable=False, default=0),
    Column("state", LargeBinary),  # engine-level state that belongs to no merchant
    Column("schema_version", Integer, nullable=False, default=SCHEMA_VERSION),
    Column("updated_at", Float, nullable=False),
)

# Per-merchant learned state: models, feature statistics, pending labels, metrics.
model_state = Table(
    "model_state",
    metadata,
    Column("merchant_id", String(128), primary_key=True),
    Column("component", String(64), primary_key=True),
    Column("state", LargeBinary, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("updated_at", Float, nullable=False),
)

# Bad input, with the reason and the raw bytes, so nothing is lost and it can be replayed.
dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("merchant_id", String(128), nullable=False),  # "" when the payload names none
    Column("job", String(64), nullable=False),
    Column("source", Text, nullable=False),
    Column("offset", Text),
    Column("event_id", String(256)),
    Column("code", String(32), nullable=False),
    Column("reason", Text, nullable=False),
    Column("raw", LargeBinary, nullable=False),
    Column("created_at", Float, nullable=False),
)
Index("ix_dead_letters_merchant", dead_letters.c.merchant_id, dead_letters.c.id)
