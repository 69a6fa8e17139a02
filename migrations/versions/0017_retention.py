"""retention: purge runs, and errands whose personal details the purge erased

Revision ID: 0017_retention
Revises: 0016_household_members
"""
from alembic import op
import sqlalchemy as sa

revision = '0017_retention'
down_revision = '0016_household_members'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'purge_runs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('trigger', sa.String(length=12), nullable=False),
        sa.Column('requested_at', sa.DateTime(), nullable=False),
        sa.Column('requested_by_id', sa.Integer(), nullable=True),
        sa.Column('started_at', sa.DateTime(), nullable=True),
        sa.Column('finished_at', sa.DateTime(), nullable=True),
        sa.Column('counts', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_purge_runs_requested_by_id_users'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_purge_runs')),
    )
    # An erased errand keeps its place, category, costs and times, but no longer its household.
    with op.batch_alter_table('errands', schema=None) as batch_op:
        batch_op.add_column(sa.Column('erased_at', sa.DateTime(), nullable=True))
        batch_op.alter_column('household_id', existing_type=sa.Integer(), nullable=True)


def downgrade():
    # The old schema has no errand without a household: the erased ones (statistics only) go.
    op.execute("DELETE FROM errand_events WHERE errand_id IN (SELECT id FROM errands WHERE household_id IS NULL)")
    op.execute("DELETE FROM errand_contact_views WHERE errand_id IN (SELECT id FROM errands WHERE household_id IS NULL)")
    op.execute("DELETE FROM errands WHERE household_id IS NULL")
    with op.batch_alter_table('errands', schema=None) as batch_op:
        batch_op.alter_column('household_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('erased_at')
    op.drop_table('purge_runs')
