"""home observation: observations, their daily checks, fever follow-ups

Revision ID: 0019_observation
Revises: 0018_screening
"""
from alembic import op
import sqlalchemy as sa

revision = '0019_observation'
down_revision = '0018_screening'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'observations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('compound_id', sa.Integer(), nullable=False),
        sa.Column('starts_on', sa.Date(), nullable=False),
        sa.Column('ends_on', sa.Date(), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('building_head_id', sa.Integer(), nullable=True),
        sa.Column('grid_member_id', sa.Integer(), nullable=True),
        sa.Column('started_by_id', sa.Integer(), nullable=True),
        sa.Column('started_at', sa.DateTime(), nullable=False),
        sa.Column('ended_at', sa.DateTime(), nullable=True),
        sa.Column('ended_by_id', sa.Integer(), nullable=True),
        sa.Column('link_hash', sa.String(length=64), nullable=True),
        sa.Column('link_created_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['person_id'], ['household_members.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['compound_id'], ['compounds.id']),
        sa.ForeignKeyConstraint(['building_head_id'], ['users.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['grid_member_id'], ['users.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['started_by_id'], ['users.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['ended_by_id'], ['users.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('link_hash'),
    )
    op.create_index('ix_observations_person_id', 'observations', ['person_id'])
    op.create_index('ix_observations_compound_id', 'observations', ['compound_id'])
    op.create_index('ix_observations_status_ends', 'observations', ['status', 'ends_on'])
    op.create_table(
        'observation_checks',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('observation_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('slot', sa.String(length=5), nullable=False),
        sa.Column('due_at', sa.DateTime(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('done_at', sa.DateTime(), nullable=True),
        sa.Column('done_by_id', sa.Integer(), nullable=True),
        sa.Column('method', sa.String(length=10), nullable=False),
        sa.Column('temperature', sa.Numeric(3, 1), nullable=True),
        sa.Column('cough', sa.Boolean(), nullable=False),
        sa.Column('fever', sa.Boolean(), nullable=False),
        sa.Column('fatigue', sa.Boolean(), nullable=False),
        sa.Column('other', sa.Boolean(), nullable=False),
        sa.Column('other_text', sa.String(length=200), nullable=False),
        sa.Column('reminder_level', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['observation_id'], ['observations.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['done_by_id'], ['users.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('observation_id', 'day', 'slot', name='uq_observation_check'),
    )
    op.create_index('ix_observation_checks_observation_id', 'observation_checks', ['observation_id'])
    op.create_index('ix_observation_checks_status_due', 'observation_checks', ['status', 'due_at'])
    op.create_table(
        'observation_followups',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('observation_id', sa.Integer(), nullable=False),
        sa.Column('check_id', sa.Integer(), nullable=False),
        sa.Column('opened_at', sa.DateTime(), nullable=False),
        sa.Column('outcome', sa.String(length=10), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('closed_at', sa.DateTime(), nullable=True),
        sa.Column('closed_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['observation_id'], ['observations.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['check_id'], ['observation_checks.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['closed_by_id'], ['users.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('check_id'),
    )
    op.create_index('ix_observation_followups_observation_id', 'observation_followups', ['observation_id'])


def downgrade():
    op.drop_table('observation_followups')
    op.drop_table('observation_checks')
    op.drop_table('observations')
