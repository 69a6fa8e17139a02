"""daily reports (snapshots per scope, day and version) and the town's wording of them

Revision ID: 0013_daily_reports
Revises: 0012_notice_marks
"""
from alembic import op
import sqlalchemy as sa

revision = '0013_daily_reports'
down_revision = '0012_notice_marks'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'daily_reports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('scope_key', sa.String(length=30), nullable=False),
        sa.Column('community_id', sa.Integer(), nullable=True),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('cutoff_at', sa.DateTime(), nullable=False),
        sa.Column('figures', sa.Text(), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['community_id'], ['communities.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('scope_key', 'day', 'version', name='uq_daily_report_version'),
    )
    op.create_index(op.f('ix_daily_reports_community_id'), 'daily_reports', ['community_id'], unique=False)
    op.create_index(op.f('ix_daily_reports_day'), 'daily_reports', ['day'], unique=False)
    op.create_table(
        'report_templates',
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['updated_by_id'], ['users.id']),
        sa.PrimaryKeyConstraint('kind'),
    )


def downgrade():
    op.drop_table('report_templates')
    op.drop_index(op.f('ix_daily_reports_day'), table_name='daily_reports')
    op.drop_index(op.f('ix_daily_reports_community_id'), table_name='daily_reports')
    op.drop_table('daily_reports')
