"""announcements (通知公告) and their audience with read times

Revision ID: 0014_announcements
Revises: 0013_daily_reports
"""
from alembic import op
import sqlalchemy as sa

revision = '0014_announcements'
down_revision = '0013_daily_reports'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'announcements',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=100), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('image', sa.String(length=80), nullable=True),
        sa.Column('roles', sa.String(length=200), nullable=False),
        sa.Column('places', sa.Text(), nullable=False),
        sa.Column('author_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('publish_at', sa.DateTime(), nullable=False),
        sa.Column('published_at', sa.DateTime(), nullable=True),
        sa.Column('audience_size', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['author_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_announcements_due', 'announcements', ['published_at', 'publish_at'], unique=False)
    op.create_table(
        'announcement_recipients',
        sa.Column('announcement_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('read_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['announcement_id'], ['announcements.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('announcement_id', 'user_id'),
    )
    op.create_index('ix_announcement_recipients_user', 'announcement_recipients', ['user_id', 'read_at'],
                    unique=False)


def downgrade():
    op.drop_index('ix_announcement_recipients_user', table_name='announcement_recipients')
    op.drop_table('announcement_recipients')
    op.drop_index('ix_announcements_due', table_name='announcements')
    op.drop_table('announcements')
