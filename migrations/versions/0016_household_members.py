"""the people of each household, and who came or returned from outside

Revision ID: 0016_household_members
Revises: 0015_access_records
"""
from alembic import op
import sqlalchemy as sa

revision = '0016_household_members'
down_revision = '0015_access_records'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'household_members',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('household_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('relation', sa.String(length=16), nullable=False),
        sa.Column('sex', sa.String(length=1), nullable=False),
        sa.Column('birth_year', sa.Integer(), nullable=True),
        sa.Column('phone', sa.String(length=32), nullable=False),
        sa.Column('from_outside', sa.Boolean(), nullable=False),
        sa.Column('came_from', sa.String(length=100), nullable=False),
        sa.Column('arrived_on', sa.Date(), nullable=True),
        sa.Column('travel_mode', sa.String(length=16), nullable=False),
        sa.Column('notes', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['household_id'], ['households.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_household_members_household_id', 'household_members', ['household_id'])
    op.create_index('ix_household_members_from_outside', 'household_members', ['from_outside'])


def downgrade():
    op.drop_table('household_members')
