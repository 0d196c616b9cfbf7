"""field-service connector: the receive watermark of each connector

Revision ID: a9f5c3d2e1b4
Revises: f3a9c1d7e2b6
Create Date: 2026-12-02 15:50:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'a9f5c3d2e1b4'
down_revision = 'f3a9c1d7e2b6'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'exchange_watermarks',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('connector_id', sa.Integer(), sa.ForeignKey('connectors.id', ondelete='CASCADE'), nullable=False),
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('value', sa.DateTime(), nullable=True),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.UniqueConstraint('connector_id', 'name'),
    )


def downgrade():
    op.drop_table('exchange_watermarks')
