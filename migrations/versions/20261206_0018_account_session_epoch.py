"""account.session_epoch: every login session carries it; adding one ends them all

Revision ID: 20261206_0018
Revises: 20261205_0017
Create Date: 2026-12-06 02:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '20261206_0018'
down_revision = '20261205_0017'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_epoch', sa.Integer(), server_default='0',
                                      nullable=False))


def downgrade():
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.drop_column('session_epoch')
