"""video_sfu_session: the Janus sessions SunVote holds for the meeting video through the SFU

Revision ID: 20261206_0024
Revises: 20261206_0023
Create Date: 2026-12-06 20:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '20261206_0024'
down_revision = '20261206_0023'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('video_sfu_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('peer', sa.String(length=40), nullable=False),
    sa.Column('feed', sa.BigInteger(), nullable=False),
    sa.Column('publisher', sa.Boolean(), nullable=False),
    sa.Column('janus_session', sa.BigInteger(), nullable=False),
    sa.Column('janus_handle', sa.BigInteger(), nullable=False),
    sa.Column('kept_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], name=op.f('fk_video_sfu_session_meeting_id_meeting')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_video_sfu_session')),
    sa.UniqueConstraint('meeting_id', 'peer', 'feed', 'publisher', name=op.f('uq_video_sfu_session_meeting_id_peer_feed_publisher'))
    )
    with op.batch_alter_table('video_sfu_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_video_sfu_session_meeting_id'), ['meeting_id'], unique=False)


def downgrade():
    with op.batch_alter_table('video_sfu_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_video_sfu_session_meeting_id'))

    op.drop_table('video_sfu_session')
