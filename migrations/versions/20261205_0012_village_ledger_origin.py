"""village.ledger_origin: the origin line of logs created from now on, unique per installation
(<prefix>/<township>/<village>); NULL keeps a log's legacy origin sunvote.<township>/<village>

Revision ID: 20261205_0012
Revises: 20261205_0011
Create Date: 2026-12-05 21:45:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '20261205_0012'
down_revision = '20261205_0011'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('village', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ledger_origin', sa.String(length=120), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_village_ledger_origin'),
                                          ['ledger_origin'])


def downgrade():
    with op.batch_alter_table('village', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_village_ledger_origin'), type_='unique')
        batch_op.drop_column('ledger_origin')
