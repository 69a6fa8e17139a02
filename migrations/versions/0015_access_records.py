"""access records: every staff look at residents' data and every export

Revision ID: 0015_access_records
Revises: 0014_announcements
"""
from alembic import op
import sqlalchemy as sa

revision = '0015_access_records'
down_revision = '0014_announcements'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'access_records',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('what', sa.String(length=40), nullable=False),
        sa.Column('household_id', sa.Integer(), nullable=True),
        sa.Column('compound_id', sa.Integer(), nullable=True),
        sa.Column('community_id', sa.Integer(), nullable=True),
        sa.Column('scope', sa.String(length=200), nullable=False),
        sa.Column('rows', sa.Integer(), nullable=False),
        sa.Column('personal', sa.Boolean(), nullable=False),
        sa.Column('reason', sa.String(length=200), nullable=False),
        sa.Column('ip', sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_access_records_at', 'access_records', ['at'])
    op.create_index('ix_access_records_user', 'access_records', ['user_id', 'at'])
    op.create_index('ix_access_records_household', 'access_records', ['household_id', 'at'])
    op.create_index('ix_access_records_compound', 'access_records', ['compound_id', 'at'])


def downgrade():
    op.drop_table('access_records')
