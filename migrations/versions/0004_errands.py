"""errands for housebound residents

Revision ID: 0004_errands
Revises: 0003_duty
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = '0004_errands'
down_revision = '0003_duty'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
