"""suggestion: a number per village, the private follow code's hash, and "not taken up" with a reason

Revision ID: 20261206_0020
Revises: 20261206_0019
Create Date: 2026-12-06 04:55:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '20261206_0020'
down_revision = '20261206_0019'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('suggestion', schema=None) as batch_op:
        batch_op.add_column(sa.Column('number', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('follow_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('decline_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('declined_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('declined_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_suggestion_declined_by_id_person'), 'person',
                                    ['declined_by_id'], ['id'])
    # Existing suggestions are numbered 1, 2, … per village in the order they arrived.
    conn = op.get_bind()
    rows = conn.execute(sa.text('SELECT id, village_id FROM suggestion ORDER BY id')).all()
    seen: dict[int, int] = {}
    for sid, village_id in rows:
        seen[village_id] = seen.get(village_id, 0) + 1
        conn.execute(sa.text('UPDATE suggestion SET number = :n WHERE id = :id'),
                     {"n": seen[village_id], "id": sid})
    with op.batch_alter_table('suggestion', schema=None) as batch_op:
        batch_op.alter_column('number', existing_type=sa.Integer(), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_suggestion_village_id_number'),
                                          ['village_id', 'number'])


def downgrade():
    with op.batch_alter_table('suggestion', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_suggestion_village_id_number'), type_='unique')
        batch_op.drop_constraint(batch_op.f('fk_suggestion_declined_by_id_person'),
                                 type_='foreignkey')
        batch_op.drop_column('declined_by_id')
        batch_op.drop_column('declined_at')
        batch_op.drop_column('decline_reason')
        batch_op.drop_column('follow_hash')
        batch_op.drop_column('number')
