"""screening campaigns: the places they cover, a visit per household, the reminder ladder

Revision ID: 0018_screening
Revises: 0017_retention
"""
from alembic import op
import sqlalchemy as sa

revision = '0018_screening'
down_revision = '0017_retention'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'screening_campaigns',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('starts_on', sa.Date(), nullable=False),
        sa.Column('ends_on', sa.Date(), nullable=False),
        sa.Column('town_wide', sa.Boolean(), nullable=False),
        sa.Column('community_id', sa.Integer(), nullable=True),
        sa.Column('record_items', sa.Boolean(), nullable=False),
        sa.Column('record_present', sa.Boolean(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('closed_at', sa.DateTime(), nullable=True),
        sa.Column('closed_by_id', sa.Integer(), nullable=True),
        sa.Column('close_reason', sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(['community_id'], ['communities.id']),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id']),
        sa.ForeignKeyConstraint(['closed_by_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_screening_campaigns_community_id', 'screening_campaigns', ['community_id'])
    op.create_index('ix_screening_campaigns_status', 'screening_campaigns', ['status'])
    op.create_table(
        'screening_campaign_places',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('community_id', sa.Integer(), nullable=True),
        sa.Column('grid_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['campaign_id'], ['screening_campaigns.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['community_id'], ['communities.id']),
        sa.ForeignKeyConstraint(['grid_id'], ['grids.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_screening_campaign_places_campaign_id', 'screening_campaign_places', ['campaign_id'])
    op.create_table(
        'screening_visits',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('household_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('visited_at', sa.DateTime(), nullable=True),
        sa.Column('first_attempt_at', sa.DateTime(), nullable=True),
        sa.Column('recorded_at', sa.DateTime(), nullable=True),
        sa.Column('recorded_by_id', sa.Integer(), nullable=True),
        sa.Column('revisit_on', sa.Date(), nullable=True),
        sa.Column('present', sa.SmallInteger(), nullable=True),
        sa.Column('returnees', sa.SmallInteger(), nullable=False),
        sa.Column('item_thermometer', sa.Boolean(), nullable=False),
        sa.Column('item_disinfectant', sa.Boolean(), nullable=False),
        sa.Column('item_leaflet', sa.Boolean(), nullable=False),
        sa.Column('item_mask', sa.Boolean(), nullable=False),
        sa.Column('item_form', sa.Boolean(), nullable=False),
        sa.Column('notes', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['campaign_id'], ['screening_campaigns.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['household_id'], ['households.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('campaign_id', 'household_id', name='uq_screening_visit'),
    )
    op.create_index('ix_screening_visits_household_id', 'screening_visits', ['household_id'])
    op.create_index('ix_screening_visits_campaign_status', 'screening_visits', ['campaign_id', 'status'])
    op.create_table(
        'screening_reminders',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('level', sa.SmallInteger(), nullable=False),
        sa.Column('place_id', sa.Integer(), nullable=False),
        sa.Column('households', sa.Integer(), nullable=False),
        sa.Column('to_revisit', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['campaign_id'], ['screening_campaigns.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('campaign_id', 'level', 'place_id', name='uq_screening_reminder'),
    )


def downgrade():
    op.drop_table('screening_reminders')
    op.drop_table('screening_visits')
    op.drop_table('screening_campaign_places')
    op.drop_table('screening_campaigns')
