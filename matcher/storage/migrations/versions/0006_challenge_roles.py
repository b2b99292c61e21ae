"""Challenges keep edited roles and a version; every saved state is kept in ``challenge_versions``.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("challenges") as batch:
        batch.add_column(sa.Column("roles", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
    op.create_table(
        "challenge_versions",
        sa.Column("challenge_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("wanted_kinds", sa.JSON(), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=True),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["challenge_id"], ["challenges.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("challenge_id", "version"),
    )
    # the state each existing challenge is in now is its version 1
    op.execute("INSERT INTO challenge_versions (challenge_id, version, title, description, wanted_kinds, roles, "
               "saved_at) SELECT id, 1, title, description, wanted_kinds, NULL, updated_at FROM challenges")


def downgrade() -> None:
    op.drop_table("challenge_versions")
    with op.batch_alter_table("challenges") as batch:
        batch.drop_column("version")
        batch.drop_column("roles")
