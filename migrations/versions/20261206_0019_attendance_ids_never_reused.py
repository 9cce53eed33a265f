"""attendance ids never reused (SQLite AUTOINCREMENT): a member who leaves loses their row, and
a check-in after a poll opened must get an id above the poll's attendance_upto

Revision ID: 20261206_0019
Revises: 20261206_0018
Create Date: 2026-12-06 05:00:00.000000

A member who leaves the meeting (meeting.leave) loses their ``attendance`` row; coming back
inserts a new one. ``poll.attendance_upto`` (the largest attendance id when the poll opened)
tells who was present at the opening, so a new row's id must be larger than every earlier one.
PostgreSQL's sequences never hand an id out twice; SQLite reuses the largest rowid after a
delete unless the table is declared AUTOINCREMENT, which needs the table rebuilt.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '20261206_0019'
down_revision = '20261206_0018'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != 'sqlite':
        return
    with op.batch_alter_table('attendance', recreate='always',
                              table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        pass


def downgrade():
    if op.get_bind().dialect.name != 'sqlite':
        return
    with op.batch_alter_table('attendance', recreate='always',
                              table_kwargs={'sqlite_autoincrement': False}) as batch_op:
        pass
