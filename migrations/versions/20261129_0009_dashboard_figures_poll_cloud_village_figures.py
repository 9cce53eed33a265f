"""dashboard figures: village_figures (each village's counts, kept with the ledger size they were
counted at); poll.cloud (ballots cast by cloud vote, counted at close, so the cloud-vote share
reads poll rows, not ballots); the ballot channel index that query used goes; indexes for the
dashboards' scans: matter (state, updated_at), poll (meeting_id, quorum, present, members),
step_record (action, matter_id, acted_at)

Revision ID: 20261129_0009
Revises: 20261129_0008
Create Date: 2026-11-29 07:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '20261129_0009'
down_revision = '20261129_0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('village_figures',
    sa.Column('village_id', sa.Integer(), nullable=False),
    sa.Column('ledger_size', sa.Integer(), nullable=False),
    sa.Column('figures', sa.JSON(), nullable=False),
    sa.Column('counted_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['village_id'], ['village.id'], name=op.f('fk_village_figures_village_id_village')),
    sa.PrimaryKeyConstraint('village_id', name=op.f('pk_village_figures'))
    )
    with op.batch_alter_table('poll', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cloud', sa.Integer(), nullable=True))
    # Polls closed before this revision: count their cloud ballots once.
    op.execute("UPDATE poll SET cloud = (SELECT count(*) FROM ballot WHERE ballot.poll_id = poll.id"
               " AND ballot.channel = 'cloud') WHERE state = 'closed'")
    with op.batch_alter_table('ballot', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ballot_channel'))
    with op.batch_alter_table('matter', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_matter_state'))
        batch_op.create_index('ix_matter_state_updated_at', ['state', 'updated_at'], unique=False)
    with op.batch_alter_table('poll', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_poll_meeting_id'))
        batch_op.create_index('ix_poll_quorum_check', ['meeting_id', 'quorum', 'present', 'members'],
                              unique=False)
    with op.batch_alter_table('step_record', schema=None) as batch_op:
        batch_op.create_index('ix_step_record_action', ['action', 'matter_id', 'acted_at'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('step_record', schema=None) as batch_op:
        batch_op.drop_index('ix_step_record_action')
    with op.batch_alter_table('poll', schema=None) as batch_op:
        batch_op.drop_index('ix_poll_quorum_check')
        batch_op.create_index(batch_op.f('ix_poll_meeting_id'), ['meeting_id'], unique=False)
    with op.batch_alter_table('matter', schema=None) as batch_op:
        batch_op.drop_index('ix_matter_state_updated_at')
        batch_op.create_index(batch_op.f('ix_matter_state'), ['state'], unique=False)
    with op.batch_alter_table('ballot', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ballot_channel'), ['channel'], unique=False)
    with op.batch_alter_table('poll', schema=None) as batch_op:
        batch_op.drop_column('cloud')
    op.drop_table('village_figures')
