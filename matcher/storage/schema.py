"""Database tables (SQLAlchemy Core). The Alembic migrations create exactly these.

Design notes:

* ``texts`` holds each distinct evidence text once (keyed by its hash); many
  evidence rows (one per organisation of a project) point at the same text, so
  a project's objective is embedded once and indexed once. The faiss index and
  the BM25 index are built over ``texts.id``.
* ``vectors`` stores the embedding of a text hash per model, so the index is a
  derived cache that can always be rebuilt without re-embedding, and a model
  change never mixes vectors of two models.
* ``changes`` is an append-only log. Its largest id is the database change
  number that every index folder and every worker process follows.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

meta = Table(
    "meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

organisations = Table(
    "organisations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("external_id", String(128), unique=True, nullable=True),
    Column("name", String(300), nullable=False),
    Column("kind", String(32), nullable=False, index=True),
    Column("sme", Boolean, nullable=False, default=False),
    Column("country", String(8), nullable=False, default="", index=True),
    Column("nuts", String(16), nullable=False, default=""),
    Column("city", String(200), nullable=False, default=""),
    Column("website", String(500), nullable=False, default=""),
    Column("description", Text, nullable=False, default=""),
    Column("capabilities", JSON, nullable=False, default=list),
    Column("offers", Text, nullable=False, default=""),
    Column("seeks", Text, nullable=False, default=""),
    Column("trl_min", Integer, nullable=True),
    Column("trl_max", Integer, nullable=True),
    Column("visibility", String(16), nullable=False, default="public"),
    Column("contact", Text, nullable=False, default=""),
    Column("notes", Text, nullable=False, default=""),
    Column("source", String(32), nullable=False, default="manual"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

projects = Table(
    "projects",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("external_id", String(128), unique=True, nullable=True),
    Column("acronym", String(200), nullable=False, default=""),
    Column("title", Text, nullable=False),
    Column("objective", Text, nullable=False, default=""),
    Column("start_date", Date, nullable=True),
    Column("end_date", Date, nullable=True),
    Column("funding_scheme", String(100), nullable=False, default=""),
    Column("source", String(32), nullable=False, default="manual"),
)

memberships = Table(
    "memberships",
    metadata,
    Column("project_id", Integer, ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "organisation_id", Integer, ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("role", String(32), nullable=False, default="participant"),
    Index("ix_memberships_org", "organisation_id"),
)

texts = Table(
    "texts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("text_hash", String(64), nullable=False, unique=True),
    Column("text", Text, nullable=False),
)

evidence = Table(
    "evidence",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "organisation_id", Integer, ForeignKey("organisations.id", ondelete="CASCADE"), nullable=False
    ),
    Column("source", String(16), nullable=False),
    Column("project_id", Integer, ForeignKey("projects.id", ondelete="CASCADE"), nullable=True),
    Column("title", Text, nullable=False, default=""),
    Column("date", Date, nullable=True),
    Column("text_id", Integer, ForeignKey("texts.id"), nullable=False, index=True),
    UniqueConstraint("organisation_id", "source", "project_id", name="uq_evidence_org_source_project"),
    Index("ix_evidence_org", "organisation_id"),
)

vectors = Table(
    "vectors",
    metadata,
    Column("model_id", String(128), primary_key=True),
    Column("text_hash", String(64), primary_key=True),
    Column("dim", Integer, nullable=False),
    Column("vector", LargeBinary, nullable=False),
)

challenges = Table(
    "challenges",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("external_id", String(128), unique=True, nullable=True),
    Column("title", String(300), nullable=False),
    Column("description", Text, nullable=False),
    Column("posed_by", Integer, ForeignKey("organisations.id", ondelete="SET NULL"), nullable=True),
    Column("wanted_kinds", JSON, nullable=False, default=list),
    Column("region", String(16), nullable=False, default=""),
    Column("instrument", String(32), nullable=False, default=""),
    Column("confidentiality", String(16), nullable=False, default="public"),
    Column("status", String(16), nullable=False, default="open"),
    Column("roles", JSON, nullable=True),  # edited roles [{"name", "kinds", "need"}]; NULL: derived from the text
    Column("version", Integer, nullable=False, default=1),  # 1 when created, +1 at every save
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

challenge_versions = Table(  # every saved state of a challenge, roles included: what was asked, and when
    "challenge_versions",
    metadata,
    Column("challenge_id", Integer, ForeignKey("challenges.id", ondelete="CASCADE"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("title", String(300), nullable=False),
    Column("description", Text, nullable=False),
    Column("wanted_kinds", JSON, nullable=False, default=list),
    Column("roles", JSON, nullable=True),
    Column("saved_at", DateTime(timezone=True), nullable=False),
)

changes = Table(
    "changes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("entity", String(16), nullable=False),  # text | organisation | evidence | challenge | project
    Column("entity_id", Integer, nullable=False),
    Column("op", String(8), nullable=False),  # upsert | delete
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(12), nullable=False),
    Column("role", String(16), nullable=False),
    Column("organisation_id", Integer, ForeignKey("organisations.id", ondelete="CASCADE"), nullable=True),
    Column("label", String(200), nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked", Boolean, nullable=False, default=False),
    Column("expires_at", DateTime(timezone=True), nullable=True),  # null: never expires
    Column("last_used_at", DateTime(timezone=True), nullable=True),  # updated at most once a minute
    Column("revoked_at", DateTime(timezone=True), nullable=True),
)

feedback = Table(
    "feedback",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key_id", Integer, ForeignKey("api_keys.id", ondelete="SET NULL"), nullable=True),
    Column("organisation_id", Integer, ForeignKey("organisations.id", ondelete="CASCADE"), nullable=False),
    Column("challenge_id", Integer, ForeignKey("challenges.id", ondelete="CASCADE"), nullable=True),
    Column("query", Text, nullable=False, default=""),
    Column("verdict", String(32), nullable=False),  # relevant | not_relevant | contacted | partnered | introduction
    Column("note", Text, nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_feedback_org", "organisation_id"),
)

shortlists = Table(
    "shortlists",
    metadata,
    Column("challenge_id", Integer, ForeignKey("challenges.id", ondelete="CASCADE"), primary_key=True),
    Column("organisation_id", Integer, ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True),
    Column("note", Text, nullable=False, default=""),
    Column("added_by", Integer, ForeignKey("api_keys.id", ondelete="SET NULL"), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

web_sessions = Table(  # browser sign-ins: the cookie holds a random token, only its SHA-256 is stored
    "web_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("key_id", Integer, ForeignKey("api_keys.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("csrf", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

signin_links = Table(  # one-time sign-in links (first run): only the token's SHA-256, deleted at first use
    "signin_links",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("key_id", Integer, ForeignKey("api_keys.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

audit_log = Table(  # every change by a person: who (the key, its role and organisation), when, what
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
    # no foreign keys: the record of who did what outlives the key and the organisation
    Column("key_id", Integer, nullable=True),  # null: the local admin at the command line
    Column("role", String(16), nullable=False),
    Column("organisation_id", Integer, nullable=True),
    Column("action", String(64), nullable=False, index=True),  # e.g. challenge.create, key.revoke
    Column("target", String(64), nullable=False),  # e.g. challenge:12, key:3, organisations
    Column("detail", JSON, nullable=False, default=dict),
)

pending_imports = Table(  # an uploaded member list between its preview and its import; only the token's SHA-256
    "pending_imports",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("key_id", Integer, ForeignKey("api_keys.id", ondelete="CASCADE"), nullable=False),
    Column("filename", String(300), nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

embed_claims = Table(  # texts waiting for a vector of a model, and who is embedding them (shared bulk embedding)
    "embed_claims",
    metadata,
    Column("model_id", String(128), primary_key=True),
    Column("text_hash", String(64), primary_key=True),
    Column("worker", String(128), nullable=True),  # null: nobody has claimed it yet
    Column("expires_at", DateTime(timezone=True), nullable=True),  # the lease; past it, another may claim it
    Column("attempts", Integer, nullable=False, default=0),  # claims so far; a text that keeps failing stops
    Index("ix_embed_claims_lease", "model_id", "expires_at"),
)

embed_workers = Table(  # every embedding worker (a host's sync or `matcher embed`): what it did, when last seen
    "embed_workers",
    metadata,
    Column("worker", String(128), primary_key=True),  # host:pid:random
    Column("model_id", String(128), nullable=False),
    Column("embedded", Integer, nullable=False, default=0),  # texts it embedded and stored
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("seen_at", DateTime(timezone=True), nullable=False),
)
