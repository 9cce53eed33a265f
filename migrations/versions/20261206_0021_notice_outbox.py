"""notice: the outbox of notices to people, their delivery attempts, and person.email

Revision ID: 20261206_0021
Revises: 20261206_0020
Create Date: 2026-12-06 13:51:49.029124

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '20261206_0021'
down_revision = '20261206_0020'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('notice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=120), nullable=False),
    sa.Column('event', sa.String(length=30), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('village_id', sa.Integer(), nullable=True),
    sa.Column('township_id', sa.Integer(), nullable=True),
    sa.Column('meeting_id', sa.Integer(), nullable=True),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('address', sa.String(length=200), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('link', sa.String(length=300), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('provider_ref', sa.String(length=120), nullable=True),
    sa.Column('last_error', sa.String(length=300), nullable=True),
    sa.Column('evidence_sha256', sa.String(length=64), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['evidence_sha256'], ['blob.sha256'], name=op.f('fk_notice_evidence_sha256_blob')),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], name=op.f('fk_notice_meeting_id_meeting')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_notice_person_id_person')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['person.id'], name=op.f('fk_notice_recorded_by_id_person')),
    sa.ForeignKeyConstraint(['township_id'], ['township.id'], name=op.f('fk_notice_township_id_township')),
    sa.ForeignKeyConstraint(['village_id'], ['village.id'], name=op.f('fk_notice_village_id_village')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notice')),
    sa.UniqueConstraint('key', name=op.f('uq_notice_key'))
    )
    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.create_index('ix_notice_due', ['state', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_notice_meeting_id'), ['meeting_id'], unique=False)
        batch_op.create_index('ix_notice_person_created', ['person_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_notice_village_id'), ['village_id'], unique=False)

    op.create_table('notice_attempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('notice_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=20), nullable=True),
    sa.Column('detail', sa.String(length=300), nullable=True),
    sa.ForeignKeyConstraint(['notice_id'], ['notice.id'], name=op.f('fk_notice_attempt_notice_id_notice')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notice_attempt'))
    )
    with op.batch_alter_table('notice_attempt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notice_attempt_notice_id'), ['notice_id'], unique=False)

    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email', sa.String(length=120), nullable=True))



def downgrade():
    # Not a batch (which would copy the person table, referenced by every other, and trip the
    # foreign keys on SQLite): both databases drop a plain column in place (SQLite >= 3.35).
    op.execute('ALTER TABLE person DROP COLUMN email')

    with op.batch_alter_table('notice_attempt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notice_attempt_notice_id'))

    op.drop_table('notice_attempt')
    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notice_village_id'))
        batch_op.drop_index('ix_notice_person_created')
        batch_op.drop_index(batch_op.f('ix_notice_meeting_id'))
        batch_op.drop_index('ix_notice_due')

    op.drop_table('notice')
