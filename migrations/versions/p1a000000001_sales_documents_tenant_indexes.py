"""orders, delivery notes and their lines without their tenant_id index

The headers' tenant look-ups use the unique (tenant_id, number) index, whose first
column it is; the lines are read through their header (their header's id is indexed),
never by tenant. The indexes were only written: five entries more per delivery note
of a reception (P1).

Revision ID: p1a000000001
Revises: p4a000000001
Create Date: 2026-12-03 07:30:00

"""
from alembic import op


revision = 'p1a000000001'
down_revision = 'p4a000000001'
branch_labels = None
depends_on = None

TABLES = ('orders', 'delivery_notes', 'order_lines', 'delivery_note_lines')


def upgrade():
    for table in TABLES:
        op.drop_index(f'ix_{table}_tenant_id', table_name=table)


def downgrade():
    for table in TABLES:
        op.create_index(f'ix_{table}_tenant_id', table, ['tenant_id'])
