"""index the disinfection day tallies by community and day (a community's compliance chart)

Revision ID: 0023_day_tallies_by_community
Revises: 0022_board_indexes
"""
from alembic import op

revision = '0023_day_tallies_by_community'
down_revision = '0022_board_indexes'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_disinfection_day_tallies_community_day', 'disinfection_day_tallies', ['community_id', 'day'])


def downgrade():
    op.drop_index('ix_disinfection_day_tallies_community_day', table_name='disinfection_day_tallies')
