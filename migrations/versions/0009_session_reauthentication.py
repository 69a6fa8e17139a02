"""auth: when a login session last confirmed its password (re-authentication)

Revision ID: 0009_session_reauthentication
Revises: 0008_disinfection_tallies
"""
from alembic import op
import sqlalchemy as sa

revision = '0009_session_reauthentication'
down_revision = '0008_disinfection_tallies'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('login_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reauthenticated_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('login_sessions', schema=None) as batch_op:
        batch_op.drop_column('reauthenticated_at')
