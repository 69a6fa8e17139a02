"""index the duty sign-ups by status and shift (the no-shows to confirm)

Revision ID: 0024_signups_by_status
Revises: 0023_day_tallies_by_community
"""
from alembic import op

revision = '0024_signups_by_status'
down_revision = '0023_day_tallies_by_community'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_duty_signups_status_shift', 'duty_signups', ['status', 'shift_id'])


def downgrade():
    op.drop_index('ix_duty_signups_status_shift', table_name='duty_signups')
