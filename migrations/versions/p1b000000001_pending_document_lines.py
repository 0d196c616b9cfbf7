"""csv exchange: pending document lines in a table of their own, amounts and totals computed on reading

Revision ID: p1b000000001
Revises: p6a000000001
Create Date: 2026-12-03 16:00:00

The lines of a pending document move from its JSON column to ``pending_document_lines``
with their amounts, and the document gets its VAT and total including VAT: *Recevoir*
copies the lines with one ``INSERT … SELECT`` per batch. The rows already pending are
moved here, their amounts computed as ``rules.invoices`` does (a migration keeps its
own copy of the rule: it must run the same whatever the code becomes).
"""
import json
from decimal import ROUND_HALF_UP, Decimal

from alembic import op
import sqlalchemy as sa


revision = 'p1b000000001'
down_revision = 'p6a000000001'
branch_labels = None
depends_on = None

CENT = Decimal("0.01")


def _lines_table():
    return sa.table('pending_document_lines', sa.column('pending_document_id', sa.Integer),
                    sa.column('position', sa.Integer), sa.column('line_number', sa.Integer),
                    sa.column('code', sa.String), sa.column('label', sa.String),
                    sa.column('quantity', sa.Numeric(14, 4)), sa.column('unit_price', sa.Numeric(14, 4)),
                    sa.column('vat_rate', sa.Numeric(5, 2)), sa.column('amount', sa.Numeric(14, 2)))


def _documents_table(*extra):
    return sa.table('pending_documents', sa.column('id', sa.Integer), *extra)


def upgrade():
    op.create_table(
        'pending_document_lines',
        sa.Column('pending_document_id', sa.Integer(),
                  sa.ForeignKey('pending_documents.id', ondelete='CASCADE'), primary_key=True),
        sa.Column('position', sa.Integer(), primary_key=True),
        sa.Column('line_number', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=80), nullable=False),
        sa.Column('label', sa.String(length=250), nullable=False),
        sa.Column('quantity', sa.Numeric(14, 4), nullable=False),
        sa.Column('unit_price', sa.Numeric(14, 4), nullable=False),
        sa.Column('vat_rate', sa.Numeric(5, 2), nullable=False),
        sa.Column('amount', sa.Numeric(14, 2), nullable=False),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table('pending_documents') as batch:
        batch.add_column(sa.Column('total_vat', sa.Numeric(14, 2), nullable=False, server_default='0'))
        batch.add_column(sa.Column('total_incl_vat', sa.Numeric(14, 2), nullable=False, server_default='0'))
    _move_lines_to_table()
    with op.batch_alter_table('pending_documents') as batch:
        batch.drop_column('lines')


def _move_lines_to_table():
    connection = op.get_bind()
    documents = _documents_table(sa.column('lines', sa.JSON), sa.column('total_vat', sa.Numeric(14, 2)),
                                 sa.column('total_incl_vat', sa.Numeric(14, 2)))
    for document_id, lines in connection.execute(sa.select(documents.c.id, documents.c.lines)).all():
        rows, bases = [], {}
        for position, line in enumerate(sorted(lines or [], key=lambda item: item.get("line") or 0), start=1):
            quantity, unit_price = Decimal(line.get("quantity") or 0), Decimal(line.get("unit_price") or 0)
            rate = Decimal(line.get("vat_rate") or 0).quantize(CENT)
            amount = (quantity * unit_price).quantize(CENT, ROUND_HALF_UP)
            bases[rate] = bases.get(rate, Decimal(0)) + amount
            rows.append({"pending_document_id": document_id, "position": position,
                         "line_number": line.get("line") or position, "code": line.get("code") or "",
                         "label": line.get("label") or "", "quantity": quantity, "unit_price": unit_price,
                         "vat_rate": rate, "amount": amount})
        if rows:
            connection.execute(sa.insert(_lines_table()), rows)
        excl = sum(bases.values(), Decimal(0))
        vat = sum(((base * rate / 100).quantize(CENT, ROUND_HALF_UP) for rate, base in bases.items()), Decimal(0))
        connection.execute(sa.update(documents).where(documents.c.id == document_id)
                           .values(total_vat=vat, total_incl_vat=excl + vat))


def downgrade():
    with op.batch_alter_table('pending_documents') as batch:
        batch.add_column(sa.Column('lines', sa.JSON(), nullable=False, server_default='[]'))
    connection = op.get_bind()
    documents, lines = _documents_table(sa.column('lines', sa.JSON)), _lines_table()
    by_document = {}
    for row in connection.execute(sa.select(lines).order_by(lines.c.pending_document_id, lines.c.position)):
        by_document.setdefault(row.pending_document_id, []).append({
            "line": row.line_number, "code": row.code, "label": row.label, "quantity": str(row.quantity),
            "unit_price": str(row.unit_price), "vat_rate": str(row.vat_rate)})
    for document_id, stored in by_document.items():
        connection.execute(sa.update(documents).where(documents.c.id == document_id).values(lines=stored))
    op.drop_table('pending_document_lines')
    with op.batch_alter_table('pending_documents') as batch:
        batch.drop_column('total_incl_vat')
        batch.drop_column('total_vat')
