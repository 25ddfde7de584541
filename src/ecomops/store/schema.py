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

# Knowledge base: versioned documents per merchant. A new version of a doc_id marks the older
# ones superseded in the same transaction, so a reader never sees two current versions.
kb_documents = Table(
    "kb_documents",
    metadata,
    Column("merchant_id", String(128), primary_key=True),
    Column("doc_id", String(512), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("source", Text, nullable=False),  # file name, "event", ...
    Column("title", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("kind", String(32), nullable=False),  # policy, regulation, product, faq, answer, document
    Column("created_at", Float, nullable=False),
    Column("superseded", Integer, nullable=False, default=0),  # 0: current, 1: replaced or retired
)
Index("ix_kb_documents_current", kb_documents.c.merchant_id, kb_documents.c.superseded)

# The searchable pieces of each document version; ``vector`` is float32 bytes from ``encoder``.
kb_chunks = Table(
    "kb_chunks",
    metadata,
    Column("merchant_id", String(128), primary_key=True),
    Column("doc_id", String(512), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("chunk_no", Integer, primary_key=True),
    Column("text", Text, nullable=False),
    Column("vector", LargeBinary),  # None when no encoder was available
    Column("encoder", String(200)),  # the encoder fingerprint that made ``vector``
)

# Alerts the engine raised (drift alarms, high fake-order risk), written in the checkpoint's
# transaction, so a replay after a crash neither loses nor repeats one.
alerts = Table(
    "alerts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("merchant_id", String(128), nullable=False),
    Column("kind", String(32), nullable=False),  # drift, risk
    Column("model", String(64), nullable=False),
    Column("ref", String(256)),  # what it is about (an order's event id), None for drift
    Column("score", Float),  # risk: the model's probability
    Column("position", BigInteger, nullable=False),  # records read when raised
    Column("event_ts", Float),  # event time of what it is about
    Column("created_at", Float, nullable=False),
)
Index("ix_alerts_merchant", alerts.c.merchant_id, alerts.c.id)

# API keys: only a hash of the secret is stored; ``key_id`` (public, part of the key) finds the row.
api_keys = Table(
    "api_keys",
    metadata,
    Column("key_id", String(32), primary_key=True),
    Column("merchant_id", String(128), nullable=False),
    Column("secret_hash", String(128), nullable=False),  # sha256 hex of the whole key
    Column("admin", Integer, nullable=False, default=0),
    Column("rate_limit", Float),  # requests/s for this key; None: the server's default
    Column("label", Text, nullable=False, default=""),
    Column("created_at", Float, nullable=False),
    Column("revoked_at", Float),
)

# The service's durable intake: an event accepted over HTTP (or forwarded from a configured
# source) is committed here before the client hears 202; the engine reads it in id order as its
# stream (offset = id) and deletes rows once a checkpoint covers them. AUTOINCREMENT keeps ids
# rising even after the table was emptied, so an id is never reused below a checkpointed offset.
inbox = Table(
    "inbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant", String(128)),  # the API key's merchant: authoritative for dead letters; None: trusted
    Column("payload", LargeBinary, nullable=False),
    Column("error_code", String(64)),  # set when the record was already bad on arrival
    Column("error_reason", Text),
    Column("origin", String(200), nullable=False),  # "api" or the forwarded source's name
    Column("received_at", Float, nullable=False),
    sqlite_autoincrement=True,
)

# Where each forwarded source (``ecomops serve --source``) stands; updated in the same
# transaction as the inbox rows it forwarded.
inbox_cursors = Table(
    "inbox_cursors",
    metadata,
    Column("source", String(200), primary_key=True),
    Column("offset", Text),  # JSON
    Column("updated_at", Float, nullable=False),
)
