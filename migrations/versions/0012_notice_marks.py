"""notice marks: items of digests told once

Revision ID: 0012_notice_marks
Revises: 0011_imports
"""
from alembic import op
import sqlalchemy as sa

revision = '0012_notice_marks'
down_revision = '0011_imports'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'notice_marks',
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('key'),
    )


def downgrade():
    op.drop_table('notice_marks')
