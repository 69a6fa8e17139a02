"""supervision: photos of findings and evidence, supervision-team participants of inspections

Revision ID: 0007_supervision_photos
Revises: 0006_supervision
"""
from alembic import op
import sqlalchemy as sa

revision = '0007_supervision_photos'
down_revision = '0006_supervision'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('supervision_photos',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('stored_name', sa.String(length=64), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('uploaded_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['supervision_items.id'], name=op.f('fk_supervision_photos_item_id_supervision_items'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_supervision_photos_uploaded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supervision_photos')),
    sa.UniqueConstraint('stored_name', name=op.f('uq_supervision_photos_stored_name'))
    )
    with op.batch_alter_table('supervision_photos', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_supervision_photos_item_id'), ['item_id'], unique=False)

    op.create_table('supervision_inspection_participants',
    sa.Column('inspection_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['inspection_id'], ['supervision_inspections.id'], name=op.f('fk_supervision_inspection_participants_inspection_id_supervision_inspections'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_supervision_inspection_participants_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('inspection_id', 'user_id', name=op.f('pk_supervision_inspection_participants'))
    )


def downgrade():
    op.drop_table('supervision_inspection_participants')
    with op.batch_alter_table('supervision_photos', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_supervision_photos_item_id'))

    op.drop_table('supervision_photos')
