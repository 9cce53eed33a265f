"""One open poll per matter: a partial unique index on poll(matter_id) where the poll is open,
poll.void_reason, and polls an earlier version left open on a matter already polled elsewhere
marked ``suspended`` (they take no ballots and can only be voided, through the meeting room)

Revision ID: 20261205_0017
Revises: 20261205_0016
Create Date: 2026-12-05 21:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '20261205_0017'
down_revision = '20261205_0016'
branch_labels = None
depends_on = None

#: All but the first opened of the open polls on one matter become ``suspended`` (also run by
#: tests/services/test_assembly.py on a legacy state written directly).
SUSPEND_DUPLICATES = (
    "UPDATE poll SET state = 'suspended' WHERE state = 'open' AND EXISTS ("
    "SELECT 1 FROM poll AS earlier WHERE earlier.matter_id = poll.matter_id "
    "AND earlier.state = 'open' AND earlier.id < poll.id)")


def upgrade():
    with op.batch_alter_table('poll', schema=None) as batch_op:
        batch_op.add_column(sa.Column('void_reason', sa.Text(), nullable=True))
    # Two or more open polls on one matter (written by an earlier version): the first opened
    # stays open; the others are suspended, so that the index below can hold. The ledger is not
    # touched: the room page offers to void them, which writes their poll.void.
    op.execute(SUSPEND_DUPLICATES)
    with op.batch_alter_table('poll', schema=None) as batch_op:
        batch_op.create_index('uq_poll_open_matter', ['matter_id'], unique=True,
                              sqlite_where=sa.text("state = 'open'"),
                              postgresql_where=sa.text("state = 'open'"))


def downgrade():
    with op.batch_alter_table('poll', schema=None) as batch_op:
        batch_op.drop_index('uq_poll_open_matter',
                            sqlite_where=sa.text("state = 'open'"),
                            postgresql_where=sa.text("state = 'open'"))
    # The earlier version knows only open and closed polls.
    op.execute("UPDATE poll SET state = 'open' WHERE state = 'suspended'")
    op.execute("UPDATE poll SET state = 'closed' WHERE state = 'void'")
    with op.batch_alter_table('poll', schema=None) as batch_op:
        batch_op.drop_column('void_reason')
