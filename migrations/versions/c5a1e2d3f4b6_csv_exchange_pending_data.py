"""csv exchange: pending documents and parties read from the partner's files

Revision ID: c5a1e2d3f4b6
Revises: a9f5c3d2e1b4
Create Date: 2026-12-02 16:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'c5a1e2d3f4b6'
down_revision = 'a9f5c3d2e1b4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'pending_documents',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('tenant_id', sa.Integer(), sa.ForeignKey('tenants.id'), nullable=False),
        sa.Column('connector_id', sa.Integer(), sa.ForeignKey('connectors.id', ondelete='CASCADE'), nullable=False),
        sa.Column('reference', sa.String(length=80), nullable=False),
        sa.Column('document_date', sa.Date(), nullable=False),
        sa.Column('party_code', sa.String(length=40), nullable=False),
        sa.Column('party_name', sa.String(length=200), nullable=False),
        sa.Column('payment_method', sa.String(length=80), nullable=False),
        sa.Column('lines', sa.JSON(), nullable=False),
        sa.Column('total', sa.Numeric(14, 2), nullable=False),
        sa.Column('content_hash', sa.String(length=64), nullable=False),
        sa.Column('file_name', sa.String(length=250), nullable=False),
        sa.Column('read_at', sa.DateTime(), nullable=False),
        sa.UniqueConstraint('connector_id', 'reference'),
    )
    op.create_index('ix_pending_documents_tenant_id', 'pending_documents', ['tenant_id'])
    op.create_table(
        'pending_parties',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('tenant_id', sa.Integer(), sa.ForeignKey('tenants.id'), nullable=False),
        sa.Column('connector_id', sa.Integer(), sa.ForeignKey('connectors.id', ondelete='CASCADE'), nullable=False),
        sa.Column('party_type', sa.String(length=12), nullable=False),
        sa.Column('code', sa.String(length=40), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('address', sa.String(length=250), nullable=False),
        sa.Column('postcode', sa.String(length=10), nullable=False),
        sa.Column('city', sa.String(length=100), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('phone', sa.String(length=30), nullable=False),
        sa.Column('parent_code', sa.String(length=40), nullable=False),
        sa.Column('file_name', sa.String(length=250), nullable=False),
        sa.Column('read_at', sa.DateTime(), nullable=False),
        sa.UniqueConstraint('connector_id', 'party_type', 'code'),
    )
    op.create_index('ix_pending_parties_tenant', 'pending_parties', ['tenant_id'])


def downgrade():
    op.drop_index('ix_pending_parties_tenant', table_name='pending_parties')
    op.drop_table('pending_parties')
    op.drop_index('ix_pending_documents_tenant_id', table_name='pending_documents')
    op.drop_table('pending_documents')
