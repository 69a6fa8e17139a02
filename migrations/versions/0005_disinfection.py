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
    op.create_table('disinfection_compound_risks',
    sa.Column('compound_id', sa.Integer(), nullable=False),
    sa.Column('tier', sa.String(length=10), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['compound_id'], ['compounds.id'], name=op.f('fk_disinfection_compound_risks_compound_id_compounds')),
    sa.PrimaryKeyConstraint('compound_id', name=op.f('pk_disinfection_compound_risks'))
    )
    op.create_table('disinfection_points',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('compound_id', sa.Integer(), nullable=True),
    sa.Column('place_name', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('task', sa.String(length=20), nullable=False),
    sa.Column('windows', sa.String(length=200), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('last_disinfectant', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_disinfection_points_community_id_communities')),
    sa.ForeignKeyConstraint(['compound_id'], ['compounds.id'], name=op.f('fk_disinfection_points_compound_id_compounds')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_disinfection_points'))
    )
    with op.batch_alter_table('disinfection_points', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_disinfection_points_community_id'), ['community_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_disinfection_points_compound_id'), ['compound_id'], unique=False)

    op.create_table('disinfection_flags',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('point_id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('last_day', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('resolved_at', sa.DateTime(), nullable=True),
    sa.Column('resolved_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_disinfection_flags_community_id_communities')),
    sa.ForeignKeyConstraint(['point_id'], ['disinfection_points.id'], name=op.f('fk_disinfection_flags_point_id_disinfection_points'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['resolved_by_id'], ['users.id'], name=op.f('fk_disinfection_flags_resolved_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_disinfection_flags')),
    sa.UniqueConstraint('point_id', 'last_day', name='uq_disinfection_flag')
    )
    with op.batch_alter_table('disinfection_flags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_disinfection_flags_community_id'), ['community_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_disinfection_flags_point_id'), ['point_id'], unique=False)

    op.create_table('disinfection_slots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('point_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('window', sa.String(length=11), nullable=False),
    sa.Column('starts_at', sa.DateTime(), nullable=False),
    sa.Column('ends_at', sa.DateTime(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('done_at', sa.DateTime(), nullable=True),
    sa.Column('done_by_id', sa.Integer(), nullable=True),
    sa.Column('late', sa.Boolean(), nullable=False),
    sa.Column('missed_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['done_by_id'], ['users.id'], name=op.f('fk_disinfection_slots_done_by_id_users')),
    sa.ForeignKeyConstraint(['point_id'], ['disinfection_points.id'], name=op.f('fk_disinfection_slots_point_id_disinfection_points'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_disinfection_slots')),
    sa.UniqueConstraint('point_id', 'day', 'window', name='uq_disinfection_slot')
    )
    with op.batch_alter_table('disinfection_slots', schema=None) as batch_op:
        batch_op.create_index('ix_disinfection_slots_day_point', ['day', 'point_id'], unique=False)
        batch_op.create_index('ix_disinfection_slots_status_ends', ['status', 'ends_at'], unique=False)

    op.create_table('disinfection_rounds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('point_id', sa.Integer(), nullable=False),
    sa.Column('slot_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('ticked_at', sa.DateTime(), nullable=False),
    sa.Column('ticked_by_id', sa.Integer(), nullable=False),
    sa.Column('disinfectant', sa.String(length=100), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('photo', sa.String(length=200), nullable=False),
    sa.Column('tick_token', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['point_id'], ['disinfection_points.id'], name=op.f('fk_disinfection_rounds_point_id_disinfection_points'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['slot_id'], ['disinfection_slots.id'], name=op.f('fk_disinfection_rounds_slot_id_disinfection_slots'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['ticked_by_id'], ['users.id'], name=op.f('fk_disinfection_rounds_ticked_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_disinfection_rounds')),
    sa.UniqueConstraint('slot_id', name=op.f('uq_disinfection_rounds_slot_id')),
    sa.UniqueConstraint('tick_token', name=op.f('uq_disinfection_rounds_tick_token'))
    )
    with op.batch_alter_table('disinfection_rounds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_disinfection_rounds_point_id'), ['point_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_disinfection_rounds_ticked_at'), ['ticked_at'], unique=False)



def downgrade():
    with op.batch_alter_table('disinfection_rounds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_disinfection_rounds_ticked_at'))
        batch_op.drop_index(batch_op.f('ix_disinfection_rounds_point_id'))

    op.drop_table('disinfection_rounds')
    with op.batch_alter_table('disinfection_slots', schema=None) as batch_op:
        batch_op.drop_index('ix_disinfection_slots_status_ends')
        batch_op.drop_index('ix_disinfection_slots_day_point')

    op.drop_table('disinfection_slots')
    with op.batch_alter_table('disinfection_flags', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_disinfection_flags_point_id'))
        batch_op.drop_index(batch_op.f('ix_disinfection_flags_community_id'))

    op.drop_table('disinfection_flags')
    with op.batch_alter_table('disinfection_points', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_disinfection_points_compound_id'))
        batch_op.drop_index(batch_op.f('ix_disinfection_points_community_id'))

    op.drop_table('disinfection_points')
    op.drop_table('disinfection_compound_risks')
