"""received documents: the idempotency record of every received document

Revision ID: b8d1f0c3e5a7
Revises: 5b927a7e9f55
Create Date: 2026-12-02 11:50:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'b8d1f0c3e5a7'
down_revision = '5b927a7e9f55'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('received_documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('connector_id', sa.Integer(), nullable=False),
    sa.Column('external_key', sa.String(length=200), nullable=False),
    sa.Column('document_type', sa.String(length=20), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=True),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_received_documents_tenant_id_tenants')),
    sa.ForeignKeyConstraint(['connector_id'], ['connectors.id'], name=op.f('fk_received_documents_connector_id_connectors'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['run_id'], ['sync_runs.id'], name=op.f('fk_received_documents_run_id_sync_runs'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_received_documents')),
    sa.UniqueConstraint('connector_id', 'external_key', name=op.f('uq_received_documents_connector_id_external_key'))
    )
    with op.batch_alter_table('received_documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_received_documents_tenant_id'), ['tenant_id'], unique=False)


def downgrade():
    with op.batch_alter_table('received_documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_received_documents_tenant_id'))
    op.drop_table('received_documents')
