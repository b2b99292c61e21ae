"""Alembic environment. Run by :func:`matcher.storage.store.migrate`; the caller passes the connection."""

from alembic import context

from matcher.storage.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only when run as a bare `alembic` command
    raise RuntimeError("run migrations through matcher.store.migrate(), which passes a connection")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
