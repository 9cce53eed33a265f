"""video_signal: the meeting video's signalling mailbox (offers, answers, ICE candidates)

Revision ID: 20261206_0023
Revises: 20261206_0022
Create Date: 2026-12-06 17:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '20261206_0023'
down_revision = '20261206_0022'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('video_signal',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('sender', sa.String(length=40), nullable=False),
    sa.Column('recipient', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('connection', sa.String(length=32), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], name=op.f('fk_video_signal_meeting_id_meeting')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_video_signal')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('video_signal', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_video_signal_at'), ['at'], unique=False)
        batch_op.create_index('ix_video_signal_mailbox', ['meeting_id', 'recipient', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('video_signal', schema=None) as batch_op:
        batch_op.drop_index('ix_video_signal_mailbox')
        batch_op.drop_index(batch_op.f('ix_video_signal_at'))

    op.drop_table('video_signal')
