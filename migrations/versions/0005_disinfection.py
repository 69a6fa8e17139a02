"""disinfection rounds: points, windows, slots, rounds

Revision ID: 0005_disinfection
Revises: 0004_errands
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = '0005_disinfection'
down_revision = '0004_errands'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
