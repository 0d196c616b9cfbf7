"""scheduler: APScheduler's job store table, the leader lease and the scheduler processes

Revision ID: f3a9c1d7e2b6
Revises: 92e569ecb9df
Create Date: 2026-12-02 15:45:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'f3a9c1d7e2b6'
down_revision = '92e569ecb9df'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'apscheduler_jobs',
        sa.Column('id', sa.Unicode(length=191), nullable=False),
        sa.Column('next_run_time', sa.Float(precision=25), nullable=True),
        sa.Column('job_state', sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_apscheduler_jobs_next_run_time', 'apscheduler_jobs', ['next_run_time'])
    op.create_table(
        'scheduler_leases',
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('owner', sa.String(length=100), nullable=False),
        sa.Column('host', sa.String(length=100), nullable=False),
        sa.Column('pid', sa.Integer(), nullable=False),
        sa.Column('acquired_at', sa.DateTime(), nullable=False),
        sa.Column('heartbeat_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('name'),
    )
    op.create_table(
        'scheduler_processes',
        sa.Column('owner', sa.String(length=100), nullable=False),
        sa.Column('host', sa.String(length=100), nullable=False),
        sa.Column('pid', sa.Integer(), nullable=False),
        sa.Column('role', sa.String(length=10), nullable=False),
        sa.Column('started_at', sa.DateTime(), nullable=False),
        sa.Column('seen_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('owner'),
    )


def downgrade():
    op.drop_table('scheduler_processes')
    op.drop_table('scheduler_leases')
    op.drop_index('ix_apscheduler_jobs_next_run_time', table_name='apscheduler_jobs')
    op.drop_table('apscheduler_jobs')
