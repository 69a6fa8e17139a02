"""disinfection: day tallies for the compliance chart

Revision ID: 0008_disinfection_tallies
Revises: 0007_supervision_photos
"""
from alembic import op
import sqlalchemy as sa

revision = '0008_disinfection_tallies'
down_revision = '0007_supervision_photos'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('disinfection_tallied_days',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('tallied_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_disinfection_tallied_days'))
    )
    op.create_table('disinfection_day_tallies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('compound_id', sa.Integer(), nullable=True),
    sa.Column('slots', sa.Integer(), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_disinfection_day_tallies_community_id_communities')),
    sa.ForeignKeyConstraint(['compound_id'], ['compounds.id'], name=op.f('fk_disinfection_day_tallies_compound_id_compounds')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_disinfection_day_tallies'))
    )
    with op.batch_alter_table('disinfection_day_tallies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_disinfection_day_tallies_day'), ['day'], unique=False)



def downgrade():
    with op.batch_alter_table('disinfection_day_tallies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_disinfection_day_tallies_day'))

    op.drop_table('disinfection_day_tallies')
    op.drop_table('disinfection_tallied_days')
