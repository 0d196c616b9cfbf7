"""search indexes of the parameter tables: trigram on labels, prefix on codes

PostgreSQL: pg_trgm GIN indexes on the searchable text columns and a
(tenant_id, lower(code) text_pattern_ops) index. SQLite: an FTS5 trigram table
<table>_search kept by triggers and a (tenant_id, lower(code)) index.
See core/search.py.

Revision ID: 275af5b2411d
Revises: 6abc7d229b45
Create Date: 2026-11-23 10:00:00.000000

"""
from alembic import op

from core.search import create_text_search, drop_text_search

# revision identifiers, used by Alembic.
revision = '275af5b2411d'
down_revision = '6abc7d229b45'
branch_labels = None
depends_on = None

# Frozen here (core.search.PARAMETER_TABLES may grow with later tables).
TABLES = {
    "document_titles": ("label",),
    "operation_codes": ("label",),
    "establishments": ("label", "city"),
    "numbering_sequences": ("label",),
    "product_natures": ("label",),
    "article_families": ("label",),
    "units": ("label",),
    "price_categories": ("label",),
    "depots": ("label",),
    "sectors": ("label",),
    "client_families": ("label",),
    "supplier_families": ("label",),
    "vat_rates": ("label",),
    "text_codes": ("label", "body"),
    "additional_cost_tables": ("label",),
}


def upgrade():
    bind = op.get_bind()
    for table, columns in TABLES.items():
        create_text_search(bind, table, columns)


def downgrade():
    bind = op.get_bind()
    for table, columns in TABLES.items():
        drop_text_search(bind, table, columns)
