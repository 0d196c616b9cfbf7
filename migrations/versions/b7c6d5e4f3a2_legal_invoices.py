"""legal invoices: company identity, client / job site / unit fields, credit notes,
invoice fields of the reform, identity snapshot and stored documents; client countries
as ISO 3166-1 alpha-2 codes

Revision ID: b7c6d5e4f3a2
Revises: c5a1e2d3f4b6
Create Date: 2026-12-02 16:05:00

"""
from alembic import op
import sqlalchemy as sa

from core.search import rebuild_text_search


revision = 'b7c6d5e4f3a2'
down_revision = 'c5a1e2d3f4b6'
branch_labels = None
depends_on = None

DISCOUNT = "Pas d'escompte pour paiement anticipé"
# Today's free-text countries → ISO codes (anything else is kept, and flagged by the form check)
COUNTRIES = {
    'FR': ('', 'france', 'fr', 'fra', 'république française', 'republique francaise'),
    'BE': ('belgique', 'belgium', 'be', 'bel'), 'CH': ('suisse', 'switzerland', 'ch', 'che'),
    'LU': ('luxembourg', 'lu', 'lux'), 'DE': ('allemagne', 'germany', 'deutschland', 'de', 'deu'),
    'ES': ('espagne', 'spain', 'españa', 'es', 'esp'), 'IT': ('italie', 'italy', 'italia', 'it', 'ita'),
    'MC': ('monaco', 'mc'), 'GB': ('royaume-uni', 'royaume uni', 'united kingdom', 'uk', 'gb'),
    'NL': ('pays-bas', 'pays bas', 'netherlands', 'nl'), 'PT': ('portugal', 'pt'),
}


def _text(name, length, default=''):
    return sa.Column(name, sa.String(length=length), nullable=False, server_default=default)


def _flag(name, default=False):
    return sa.Column(name, sa.Boolean(), nullable=False, server_default='1' if default else '0')


def upgrade():
    with op.batch_alter_table('dossier_settings') as batch:
        for column in (
                _text('legal_name', 200), _text('legal_form', 20),
                sa.Column('share_capital', sa.Numeric(14, 2), nullable=True),
                sa.Column('siret', sa.String(length=20), nullable=True),
                _text('registration', 100), _text('address', 250), _text('postcode', 10), _text('city', 100),
                _text('country', 2, 'FR'), _text('email', 254), _text('phone', 30), _text('bic', 11),
                sa.Column('payment_terms_days', sa.Integer(), nullable=False, server_default='30'),
                _flag('payment_terms_end_of_month'),
                sa.Column('late_penalty_rate', sa.Numeric(6, 2), nullable=True),
                _text('early_payment_discount', 250, DISCOUNT), _flag('vat_on_debits'),
                _text('insurer_name', 200), _text('insurer_address', 250), _text('insurance_policy', 100),
                _text('insurance_coverage', 200), _text('electronic_address', 100)):
            batch.add_column(column)
    with op.batch_alter_table('clients') as batch:
        batch.add_column(_flag('professional', True))
        batch.add_column(sa.Column('siren', sa.String(length=20), nullable=True))
        batch.add_column(_text('electronic_address', 100))
        batch.add_column(_flag('reverse_charge'))
        batch.alter_column('country', existing_type=sa.String(length=60), server_default='FR')
    clients = sa.table('clients', sa.column('country', sa.String))
    for code, names in COUNTRIES.items():
        op.execute(clients.update().where(sa.func.lower(sa.func.trim(sa.func.coalesce(clients.c.country, '')))
                                          .in_(names)).values(country=code))
    with op.batch_alter_table('job_sites') as batch:
        batch.add_column(_text('address', 250))
        batch.add_column(_text('postcode', 10))
        batch.add_column(_text('city', 100))
    with op.batch_alter_table('units') as batch:
        batch.add_column(_text('un_ece_code', 3))
    with op.batch_alter_table('invoices') as batch:
        batch.add_column(_text('kind', 20, 'invoice'))
        batch.add_column(sa.Column('credited_invoice_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('due_date', sa.Date(), nullable=True))
        batch.add_column(sa.Column('operation_category', sa.String(length=20), nullable=True))
        batch.add_column(_flag('reverse_charge'))
        batch.add_column(_text('buyer_reference', 100))
        batch.add_column(sa.Column('identity_snapshot', sa.Text(), nullable=True))
        batch.create_foreign_key('fk_invoices_credited_invoice_id_invoices', 'invoices',
                                 ['credited_invoice_id'], ['id'])
        batch.create_index('ix_invoices_credited_invoice_id', ['credited_invoice_id'])
        batch.create_check_constraint('kind_known', "kind IN ('invoice', 'credit_note')")
        batch.create_check_constraint(
            'credit_note_credits', "(kind = 'credit_note') = (credited_invoice_id IS NOT NULL)")
    op.create_table(
        'invoice_documents',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('tenant_id', sa.Integer(), sa.ForeignKey('tenants.id'), nullable=False),
        sa.Column('invoice_id', sa.Integer(), sa.ForeignKey('invoices.id', ondelete='CASCADE'), nullable=False),
        sa.Column('filename', sa.String(length=250), nullable=False),
        sa.Column('content', sa.LargeBinary(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.UniqueConstraint('invoice_id'),
    )
    op.create_index('ix_invoice_documents_tenant_id', 'invoice_documents', ['tenant_id'])
    # SQLite's batch mode rebuilt some tables, without their search indexes and triggers
    rebuild_text_search(op.get_bind(), folding=True)


def downgrade():
    op.drop_table('invoice_documents')
    with op.batch_alter_table('invoices') as batch:
        batch.drop_constraint('credit_note_credits', type_='check')
        batch.drop_constraint('kind_known', type_='check')
        batch.drop_index('ix_invoices_credited_invoice_id')
        batch.drop_constraint('fk_invoices_credited_invoice_id_invoices', type_='foreignkey')
        for name in ('identity_snapshot', 'buyer_reference', 'reverse_charge', 'operation_category', 'due_date',
                     'credited_invoice_id', 'kind'):
            batch.drop_column(name)
    with op.batch_alter_table('units') as batch:
        batch.drop_column('un_ece_code')
    with op.batch_alter_table('job_sites') as batch:
        for name in ('city', 'postcode', 'address'):
            batch.drop_column(name)
    with op.batch_alter_table('clients') as batch:
        for name in ('reverse_charge', 'electronic_address', 'siren', 'professional'):
            batch.drop_column(name)
    with op.batch_alter_table('dossier_settings') as batch:
        for name in ('legal_name', 'legal_form', 'share_capital', 'siret', 'registration', 'address', 'postcode',
                     'city', 'country', 'email', 'phone', 'bic', 'payment_terms_days',
                     'payment_terms_end_of_month', 'late_penalty_rate', 'early_payment_discount',
                     'vat_on_debits', 'insurer_name', 'insurer_address', 'insurance_policy',
                     'insurance_coverage', 'electronic_address'):
            batch.drop_column(name)
    rebuild_text_search(op.get_bind(), folding=True)
