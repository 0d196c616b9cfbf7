"""invoice line unit: the unit of an invoice line, filled from its article

Revision ID: a4e9c3d2b1f7
Revises: a3c5e7f9b2d4
Create Date: 2026-12-02 10:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'a4e9c3d2b1f7'
down_revision = 'a3c5e7f9b2d4'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('invoice_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unit_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_invoice_lines_unit_id_units'), 'units', ['unit_id'], ['id'])


def downgrade():
    with op.batch_alter_table('invoice_lines', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_invoice_lines_unit_id_units'), type_='foreignkey')
        batch_op.drop_column('unit_id')
