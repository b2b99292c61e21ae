"""PostgreSQL announces every change: a trigger on ``changes`` sends NOTIFY matcher_changes with the change
number, so hosts catch up at once instead of at their next poll (SQLite: nothing; hosts poll).

Revision ID: 0008
Revises: 0007
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # once per statement (an import logs thousands of changes in one); delivered when the transaction commits
    op.execute("""
        CREATE FUNCTION matcher_notify_changes() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('matcher_changes', (SELECT max(id) FROM changes)::text);
            RETURN NULL;
        END $$""")
    op.execute("CREATE TRIGGER changes_notify AFTER INSERT ON changes "
               "FOR EACH STATEMENT EXECUTE FUNCTION matcher_notify_changes()")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS changes_notify ON changes")
    op.execute("DROP FUNCTION IF EXISTS matcher_notify_changes()")
