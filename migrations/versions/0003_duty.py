"""duty roster: checkpoints, shift patterns, shifts, sign-ups

Revision ID: 0003_duty
Revises: 0002_notifications
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = '0003_duty'
down_revision = '0002_notifications'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
