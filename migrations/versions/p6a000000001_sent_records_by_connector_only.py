"""sent_records: no index nor foreign key of its own on tenant_id

Every read of the fingerprints goes by connector (the unique key's first column), and a
connector's tenant is checked by the connectors table: the tenant's index and foreign
key were paid on each of the rows a send records (70,000 in a big one; on PostgreSQL
the foreign key is a check per row, and the parallel writers of a send all lock the
same tenant row for it) without a query ever using them.

Revision ID: p6a000000001
Revises: p1a000000001
Create Date: 2026-12-03 07:40:00

"""
from alembic import op


revision = 'p6a000000001'
down_revision = 'p1a000000001'
branch_labels = None
depends_on = None

INDEX = 'ix_sent_records_tenant_id'
FOREIGN_KEY = 'fk_sent_records_tenant_id_tenants'


def upgrade():
    op.drop_index(INDEX, table_name='sent_records')
    with op.batch_alter_table('sent_records') as batch_op:
        batch_op.drop_constraint(FOREIGN_KEY, type_='foreignkey')


def downgrade():
    with op.batch_alter_table('sent_records') as batch_op:
        batch_op.create_foreign_key(FOREIGN_KEY, 'tenants', ['tenant_id'], ['id'])
    op.create_index(INDEX, 'sent_records', ['tenant_id'])
