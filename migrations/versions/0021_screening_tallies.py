"""screening: each campaign's visits counted per compound, kept by every write

Revision ID: 0021_screening_tallies
Revises: 0020_followup_called
"""
from alembic import op
import sqlalchemy as sa

revision = '0021_screening_tallies'
down_revision = '0020_followup_called'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'screening_tallies',
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('compound_id', sa.Integer(), nullable=False),
        sa.Column('total', sa.Integer(), nullable=False),
        sa.Column('visited', sa.Integer(), nullable=False),
        sa.Column('pending', sa.Integer(), nullable=False),
        sa.Column('revisit', sa.Integer(), nullable=False),
        sa.Column('refused', sa.Integer(), nullable=False),
        sa.Column('returnees', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['campaign_id'], ['screening_campaigns.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['compound_id'], ['compounds.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('campaign_id', 'compound_id'),
    )
    op.create_index('ix_screening_tallies_compound_id', 'screening_tallies', ['compound_id'])
    # The campaigns there are, counted once from their visits.
    op.execute(
        "INSERT INTO screening_tallies (campaign_id, compound_id, total, visited, pending, revisit, refused, "
        "returnees) SELECT v.campaign_id, h.compound_id, count(*), "
        "sum(CASE WHEN v.status IN ('seen', 'returnees') THEN 1 ELSE 0 END), "
        "sum(CASE WHEN v.status = 'pending' THEN 1 ELSE 0 END), "
        "sum(CASE WHEN v.status = 'nobody_home' THEN 1 ELSE 0 END), "
        "sum(CASE WHEN v.status = 'refused' THEN 1 ELSE 0 END), coalesce(sum(v.returnees), 0) "
        "FROM screening_visits v JOIN households h ON h.id = v.household_id GROUP BY v.campaign_id, h.compound_id")


def downgrade():
    op.drop_index('ix_screening_tallies_compound_id', table_name='screening_tallies')
    op.drop_table('screening_tallies')
