"""supervision: inspections, findings, rectification items, interviews, circulars

Revision ID: 0006_supervision
Revises: 0005_disinfection
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = '0006_supervision'
down_revision = '0005_disinfection'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
