"""the index of invoices.credited_invoice_id holds only the credit notes (partial index)

A full index is all NULLs on a tenant without credit notes: SQLite's ANALYZE then gives
it one key of every row, the planner rates it useless and every "credited amount"
subquery (outstanding amounts, payment alerts, synthesis) scans the invoices table
once per invoice. The partial index is empty or small, and used.

Revision ID: p4a000000001
Revises: b7c6d5e4f3a2
Create Date: 2026-12-03 06:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'p4a000000001'
down_revision = 'b7c6d5e4f3a2'
branch_labels = None
depends_on = None

NAME = 'ix_invoices_credited_invoice_id'
ONLY_CREDIT_NOTES = sa.text('credited_invoice_id IS NOT NULL')


def upgrade():
    op.drop_index(NAME, table_name='invoices')
    op.create_index(NAME, 'invoices', ['credited_invoice_id'],
                    sqlite_where=ONLY_CREDIT_NOTES, postgresql_where=ONLY_CREDIT_NOTES)


def downgrade():
    op.drop_index(NAME, table_name='invoices')
    op.create_index(NAME, 'invoices', ['credited_invoice_id'])
