"""ballot.channel nullable: a secret ballot's row keeps no channel (issue 13, item 1)

Revision ID: 20261205_0011
Revises: 20261129_0010
Create Date: 2026-12-05 21:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '20261205_0011'
down_revision = '20261129_0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('ballot', schema=None) as batch_op:
        batch_op.alter_column('channel', existing_type=sa.String(length=10), nullable=True)
    # Secret ballots already stored forget their channel; those of closed polls their paper
    # batch too (open polls still need it to confirm or withdraw the batch). The rows' ids keep
    # their old order: see docs/assembly.md.
    op.execute("UPDATE ballot SET channel = NULL WHERE poll_id IN "
               "(SELECT id FROM poll WHERE mode = 'secret')")
    op.execute("UPDATE ballot SET paper_batch_id = NULL WHERE poll_id IN "
               "(SELECT id FROM poll WHERE mode = 'secret' AND state = 'closed')")


def downgrade():
    # The channel of a secret ballot is gone for good; older code needs some value.
    op.execute("UPDATE ballot SET channel = 'unknown' WHERE channel IS NULL")
    with op.batch_alter_table('ballot', schema=None) as batch_op:
        batch_op.alter_column('channel', existing_type=sa.String(length=10), nullable=False)
