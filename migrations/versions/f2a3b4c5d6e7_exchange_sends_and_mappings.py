"""exchange groundwork: article mappings, sent records (only-what-changed sends),
the full-send flag of a run, the service date of an invoice

Revision ID: f2a3b4c5d6e7
Revises: e8f1a2b3c4d5
Create Date: 2026-12-02 15:45:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'f2a3b4c5d6e7'
down_revision = 'e8f1a2b3c4d5'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'article_mappings',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('tenant_id', sa.Integer(), sa.ForeignKey('tenants.id'), nullable=False),
        sa.Column('connector_id', sa.Integer(), sa.ForeignKey('connectors.id', ondelete='CASCADE'), nullable=False),
        sa.Column('article_id', sa.Integer(), sa.ForeignKey('articles.id', ondelete='CASCADE'), nullable=False),
        sa.Column('external_code', sa.String(length=80), nullable=False),
        sa.UniqueConstraint('connector_id', 'article_id'),
        sa.UniqueConstraint('connector_id', 'external_code'),
    )
    op.create_index('ix_article_mappings_tenant_id', 'article_mappings', ['tenant_id'])
    op.create_index('ix_article_mappings_connector_id', 'article_mappings', ['connector_id'])
    op.create_index('ix_article_mappings_article_id', 'article_mappings', ['article_id'])
    op.create_table(
        'sent_records',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('tenant_id', sa.Integer(), sa.ForeignKey('tenants.id'), nullable=False),
        sa.Column('connector_id', sa.Integer(), sa.ForeignKey('connectors.id', ondelete='CASCADE'), nullable=False),
        sa.Column('entity_type', sa.String(length=20), nullable=False),
        sa.Column('external_id', sa.String(length=200), nullable=False),
        sa.Column('content_hash', sa.String(length=64), nullable=False),
        sa.Column('sent_at', sa.DateTime(), nullable=False),
        sa.UniqueConstraint('connector_id', 'entity_type', 'external_id'),
    )
    op.create_index('ix_sent_records_tenant_id', 'sent_records', ['tenant_id'])
    with op.batch_alter_table('sync_runs') as batch_op:
        batch_op.add_column(sa.Column('full_send', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('invoices') as batch_op:
        batch_op.add_column(sa.Column('service_date', sa.Date(), nullable=True))


def downgrade():
    with op.batch_alter_table('invoices') as batch_op:
        batch_op.drop_column('service_date')
    with op.batch_alter_table('sync_runs') as batch_op:
        batch_op.drop_column('full_send')
    op.drop_index('ix_sent_records_tenant_id', 'sent_records')
    op.drop_table('sent_records')
    op.drop_index('ix_article_mappings_article_id', 'article_mappings')
    op.drop_index('ix_article_mappings_connector_id', 'article_mappings')
    op.drop_index('ix_article_mappings_tenant_id', 'article_mappings')
    op.drop_table('article_mappings')
