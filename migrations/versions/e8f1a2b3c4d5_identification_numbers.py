"""identification numbers: client SIRET, company SIREN / VAT number / IBAN in the dossier settings

Revision ID: e8f1a2b3c4d5
Revises: b8d1f0c3e5a7
Create Date: 2026-12-02 13:55:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'e8f1a2b3c4d5'
down_revision = 'b8d1f0c3e5a7'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('clients') as batch_op:
        batch_op.add_column(sa.Column('siret', sa.String(length=20), nullable=True))
    with op.batch_alter_table('dossier_settings') as batch_op:
        batch_op.add_column(sa.Column('siren', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('vat_number', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('iban', sa.String(length=42), nullable=True))


def downgrade():
    with op.batch_alter_table('dossier_settings') as batch_op:
        batch_op.drop_column('iban')
        batch_op.drop_column('vat_number')
        batch_op.drop_column('siren')
    with op.batch_alter_table('clients') as batch_op:
        batch_op.drop_column('siret')
