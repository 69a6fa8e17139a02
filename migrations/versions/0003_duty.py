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
    op.create_table('duty_feed_tokens',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_duty_feed_tokens_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_duty_feed_tokens')),
    sa.UniqueConstraint('token', name=op.f('uq_duty_feed_tokens_token'))
    )
    op.create_table('duty_checkpoints',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('compound_id', sa.Integer(), nullable=True),
    sa.Column('work_unit_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('location', sa.String(length=200), nullable=False),
    sa.Column('pattern', sa.String(length=200), nullable=False),
    sa.Column('min_people', sa.Integer(), nullable=False),
    sa.Column('max_people', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_duty_checkpoints_community_id_communities')),
    sa.ForeignKeyConstraint(['compound_id'], ['compounds.id'], name=op.f('fk_duty_checkpoints_compound_id_compounds')),
    sa.ForeignKeyConstraint(['work_unit_id'], ['work_units.id'], name=op.f('fk_duty_checkpoints_work_unit_id_work_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_duty_checkpoints'))
    )
    with op.batch_alter_table('duty_checkpoints', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_duty_checkpoints_community_id'), ['community_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_duty_checkpoints_compound_id'), ['compound_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_duty_checkpoints_work_unit_id'), ['work_unit_id'], unique=False)

    op.create_table('duty_shifts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('checkpoint_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('label', sa.String(length=11), nullable=False),
    sa.Column('starts_at', sa.DateTime(), nullable=False),
    sa.Column('ends_at', sa.DateTime(), nullable=False),
    sa.Column('min_people', sa.Integer(), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('filled', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('off_pattern', sa.Boolean(), nullable=False),
    sa.Column('gap_alerted', sa.Boolean(), nullable=False),
    sa.Column('gap_alerts', sa.Integer(), nullable=False),
    sa.Column('noshow_listed', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['checkpoint_id'], ['duty_checkpoints.id'], name=op.f('fk_duty_shifts_checkpoint_id_duty_checkpoints'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_duty_shifts')),
    sa.UniqueConstraint('checkpoint_id', 'day', 'label', name='uq_duty_shift')
    )
    with op.batch_alter_table('duty_shifts', schema=None) as batch_op:
        batch_op.create_index('ix_duty_shifts_day_checkpoint', ['day', 'checkpoint_id'], unique=False)
        batch_op.create_index('ix_duty_shifts_starts_at', ['starts_at'], unique=False)

    op.create_table('duty_signups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('shift_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('signed_up_at', sa.DateTime(), nullable=False),
    sa.Column('assigned_by_id', sa.Integer(), nullable=True),
    sa.Column('checked_in_at', sa.DateTime(), nullable=True),
    sa.Column('checked_out_at', sa.DateTime(), nullable=True),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.Column('ended_by_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('reminded_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['assigned_by_id'], ['users.id'], name=op.f('fk_duty_signups_assigned_by_id_users')),
    sa.ForeignKeyConstraint(['ended_by_id'], ['users.id'], name=op.f('fk_duty_signups_ended_by_id_users')),
    sa.ForeignKeyConstraint(['shift_id'], ['duty_shifts.id'], name=op.f('fk_duty_signups_shift_id_duty_shifts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_duty_signups_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_duty_signups')),
    sa.UniqueConstraint('shift_id', 'user_id', name='uq_duty_signup')
    )
    with op.batch_alter_table('duty_signups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_duty_signups_shift_id'), ['shift_id'], unique=False)
        batch_op.create_index('ix_duty_signups_user_status', ['user_id', 'status'], unique=False)


def downgrade():
    with op.batch_alter_table('duty_signups', schema=None) as batch_op:
        batch_op.drop_index('ix_duty_signups_user_status')
        batch_op.drop_index(batch_op.f('ix_duty_signups_shift_id'))

    op.drop_table('duty_signups')
    with op.batch_alter_table('duty_shifts', schema=None) as batch_op:
        batch_op.drop_index('ix_duty_shifts_starts_at')
        batch_op.drop_index('ix_duty_shifts_day_checkpoint')

    op.drop_table('duty_shifts')
    with op.batch_alter_table('duty_checkpoints', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_duty_checkpoints_work_unit_id'))
        batch_op.drop_index(batch_op.f('ix_duty_checkpoints_compound_id'))
        batch_op.drop_index(batch_op.f('ix_duty_checkpoints_community_id'))

    op.drop_table('duty_checkpoints')
    op.drop_table('duty_feed_tokens')
