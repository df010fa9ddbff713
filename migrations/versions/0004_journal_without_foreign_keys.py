"""journal entries without foreign keys

Each foreign key of journal_entry took a KEY SHARE lock on the referenced row at every insert:
the same partner row for all its calls, and the person's page, dirtied then written whole to
the WAL after each checkpoint — the cost that grew with the number of people. The journal is
append-only and sealed; the service writes ids it has just read.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 05:50:00
"""

from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

FOREIGN_KEYS = (
    ("fk_journal_entry_consent_id_consent", "consent", "consent_id"),
    ("fk_journal_entry_habilitation_id_habilitation", "habilitation", "habilitation_id"),
    ("fk_journal_entry_partner_id_partner", "partner", "partner_id"),
    ("fk_journal_entry_person_id_person", "person", "person_id"),
)


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _drop_sqlite_triggers() -> None:
    # SQLite alters a table by copying it: its triggers would not follow. Put them back after.
    for action in ("update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS journal_entry_no_{action}")


def _create_sqlite_triggers() -> None:
    for action in ("UPDATE", "DELETE"):
        op.execute(f"CREATE TRIGGER journal_entry_no_{action.lower()} BEFORE {action} ON "
                   "journal_entry BEGIN SELECT RAISE(ABORT, 'journal_entry is append-only'); END")


def upgrade() -> None:
    if _sqlite():
        _drop_sqlite_triggers()
    with op.batch_alter_table('journal_entry', schema=None) as batch_op:
        for name, _table, _column in FOREIGN_KEYS:
            batch_op.drop_constraint(op.f(name), type_='foreignkey')
    if _sqlite():
        _create_sqlite_triggers()


def downgrade() -> None:
    if _sqlite():
        _drop_sqlite_triggers()
    with op.batch_alter_table('journal_entry', schema=None) as batch_op:
        for name, table, column in FOREIGN_KEYS:
            batch_op.create_foreign_key(op.f(name), table, [column], ['id'])
    if _sqlite():
        _create_sqlite_triggers()
