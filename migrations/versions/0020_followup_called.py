"""fever follow-ups: "called" is a step on the way, not a way to close one

Revision ID: 0020_followup_called
Revises: 0019_observation
"""
from alembic import op
import sqlalchemy as sa

revision = '0020_followup_called'
down_revision = '0019_observation'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('observation_followups', schema=None) as batch_op:
        batch_op.add_column(sa.Column('called_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('called_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(op.f('fk_observation_followups_called_by_id_users'), 'users',
                                    ['called_by_id'], ['id'], ondelete='SET NULL')
    # A follow-up "closed" as called was never settled: it becomes called and open again.
    op.execute("UPDATE observation_followups SET called_at = closed_at, called_by_id = closed_by_id, "
               "closed_at = NULL, closed_by_id = NULL, outcome = '' WHERE outcome = 'called'")


def downgrade():
    op.execute("UPDATE observation_followups SET outcome = 'called', closed_at = called_at, "
               "closed_by_id = called_by_id WHERE closed_at IS NULL AND called_at IS NOT NULL")
    with op.batch_alter_table('observation_followups', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('fk_observation_followups_called_by_id_users'), type_='foreignkey')
        batch_op.drop_column('called_by_id')
        batch_op.drop_column('called_at')
