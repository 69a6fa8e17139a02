"""indexes for the today board: errands under way and of the day, slots by status and day

Revision ID: 0022_board_indexes
Revises: 0021_screening_tallies
"""
from alembic import op

revision = '0022_board_indexes'
down_revision = '0021_screening_tallies'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_errands_status_urgent', 'errands', ['status', 'urgent'])
    op.create_index('ix_errands_filed_at', 'errands', ['filed_at'])
    op.create_index('ix_errands_delivered_at', 'errands', ['delivered_at'])
    op.create_index('ix_disinfection_slots_status_day_point', 'disinfection_slots', ['status', 'day', 'point_id'])


def downgrade():
    op.drop_index('ix_disinfection_slots_status_day_point', table_name='disinfection_slots')
    op.drop_index('ix_errands_delivered_at', table_name='errands')
    op.drop_index('ix_errands_filed_at', table_name='errands')
    op.drop_index('ix_errands_status_urgent', table_name='errands')
