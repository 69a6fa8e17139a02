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
    op.create_table('errand_urgent_optins',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_errand_urgent_optins_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_errand_urgent_optins'))
    )
    op.create_table('errands',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('compound_id', sa.Integer(), nullable=False),
    sa.Column('grid_id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=16), nullable=False),
    sa.Column('items', sa.Text(), nullable=False),
    sa.Column('estimated_cost_cents', sa.Integer(), nullable=True),
    sa.Column('needed_by_at', sa.DateTime(), nullable=False),
    sa.Column('urgent', sa.Boolean(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('pay_on_delivery', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('filed_by_id', sa.Integer(), nullable=False),
    sa.Column('filed_at', sa.DateTime(), nullable=False),
    sa.Column('opened_at', sa.DateTime(), nullable=False),
    sa.Column('claimant_id', sa.Integer(), nullable=True),
    sa.Column('last_claimant_id', sa.Integer(), nullable=True),
    sa.Column('claimed_at', sa.DateTime(), nullable=True),
    sa.Column('first_claimed_at', sa.DateTime(), nullable=True),
    sa.Column('claim_expires_at', sa.DateTime(), nullable=True),
    sa.Column('purchased_at', sa.DateTime(), nullable=True),
    sa.Column('actual_cost_cents', sa.Integer(), nullable=True),
    sa.Column('receipt_photo', sa.String(length=80), nullable=True),
    sa.Column('delivered_at', sa.DateTime(), nullable=True),
    sa.Column('delivery_note', sa.Text(), nullable=False),
    sa.Column('delivery_photo', sa.String(length=80), nullable=True),
    sa.Column('confirmed_at', sa.DateTime(), nullable=True),
    sa.Column('confirmed_by_id', sa.Integer(), nullable=True),
    sa.Column('money_settled', sa.Boolean(), nullable=False),
    sa.Column('cancelled_at', sa.DateTime(), nullable=True),
    sa.Column('cancelled_by_id', sa.Integer(), nullable=True),
    sa.Column('cancel_reason', sa.Text(), nullable=False),
    sa.Column('urgent_alerted_at', sa.DateTime(), nullable=True),
    sa.Column('overdue_notified_at', sa.DateTime(), nullable=True),
    sa.Column('unconfirmed_reminded_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['cancelled_by_id'], ['users.id'], name=op.f('fk_errands_cancelled_by_id_users')),
    sa.ForeignKeyConstraint(['claimant_id'], ['users.id'], name=op.f('fk_errands_claimant_id_users')),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_errands_community_id_communities')),
    sa.ForeignKeyConstraint(['compound_id'], ['compounds.id'], name=op.f('fk_errands_compound_id_compounds')),
    sa.ForeignKeyConstraint(['confirmed_by_id'], ['users.id'], name=op.f('fk_errands_confirmed_by_id_users')),
    sa.ForeignKeyConstraint(['filed_by_id'], ['users.id'], name=op.f('fk_errands_filed_by_id_users')),
    sa.ForeignKeyConstraint(['grid_id'], ['grids.id'], name=op.f('fk_errands_grid_id_grids')),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_errands_household_id_households')),
    sa.ForeignKeyConstraint(['last_claimant_id'], ['users.id'], name=op.f('fk_errands_last_claimant_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_errands'))
    )
    with op.batch_alter_table('errands', schema=None) as batch_op:
        batch_op.create_index('ix_errands_board', ['community_id', 'status', 'urgent', 'needed_by_at'], unique=False)
        batch_op.create_index('ix_errands_claimant_status', ['claimant_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_errands_compound_id'), ['compound_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_errands_grid_id'), ['grid_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_errands_household_id'), ['household_id'], unique=False)

    op.create_table('errand_contact_views',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('errand_id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('viewed_at', sa.DateTime(), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['errand_id'], ['errands.id'], name=op.f('fk_errand_contact_views_errand_id_errands'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_errand_contact_views_household_id_households')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_errand_contact_views_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_errand_contact_views'))
    )
    with op.batch_alter_table('errand_contact_views', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_errand_contact_views_errand_id'), ['errand_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_errand_contact_views_household_id'), ['household_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_errand_contact_views_user_id'), ['user_id'], unique=False)

    op.create_table('errand_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('errand_id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_errand_events_actor_id_users')),
    sa.ForeignKeyConstraint(['errand_id'], ['errands.id'], name=op.f('fk_errand_events_errand_id_errands'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_errand_events'))
    )
    with op.batch_alter_table('errand_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_errand_events_errand_id'), ['errand_id'], unique=False)


def downgrade():
    with op.batch_alter_table('errand_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_errand_events_errand_id'))

    op.drop_table('errand_events')
    with op.batch_alter_table('errand_contact_views', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_errand_contact_views_user_id'))
        batch_op.drop_index(batch_op.f('ix_errand_contact_views_household_id'))
        batch_op.drop_index(batch_op.f('ix_errand_contact_views_errand_id'))

    op.drop_table('errand_contact_views')
    with op.batch_alter_table('errands', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_errands_household_id'))
        batch_op.drop_index(batch_op.f('ix_errands_grid_id'))
        batch_op.drop_index(batch_op.f('ix_errands_compound_id'))
        batch_op.drop_index('ix_errands_claimant_status')
        batch_op.drop_index('ix_errands_board')

    op.drop_table('errands')
    op.drop_table('errand_urgent_optins')
