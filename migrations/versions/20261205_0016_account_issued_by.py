"""account.issued_by_id: who issued the login or last reset its password

Revision ID: 20261205_0016
Revises: 20261205_0012
Create Date: 2026-12-05 21:50:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '20261205_0016'
down_revision = '20261205_0012'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('issued_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_account_issued_by_id_person'), 'person', ['issued_by_id'], ['id'])


def downgrade():
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_account_issued_by_id_person'), type_='foreignkey')
        batch_op.drop_column('issued_by_id')
