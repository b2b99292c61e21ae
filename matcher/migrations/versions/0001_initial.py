"""Initial schema: organisations, projects, memberships, texts, evidence, vectors, challenges, changes.

Revision ID: 0001
Revises:
"""

from alembic import op

from matcher.schema import metadata

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_TABLES = ["meta", "organisations", "projects", "memberships", "texts", "evidence", "vectors",
           "challenges", "changes"]


def upgrade() -> None:
    bind = op.get_bind()
    # The first migration creates the tables as declared at revision 0001; later revisions
    # alter them with explicit operations, never through the live metadata.
    metadata.create_all(bind, tables=[metadata.tables[name] for name in _TABLES])


def downgrade() -> None:
    bind = op.get_bind()
    metadata.drop_all(bind, tables=[metadata.tables[name] for name in reversed(_TABLES)])
