"""search ignores accents: every search index rebuilt on passerelle_fold (unaccent on
PostgreSQL, a registered function on SQLite)

Revision ID: a9c8e7d6f5b4
Revises: f2a3b4c5d6e7
Create Date: 2026-12-02 15:55:00

"""
from alembic import op

from core.search import rebuild_text_search

revision = 'a9c8e7d6f5b4'
down_revision = 'f2a3b4c5d6e7'
branch_labels = None
depends_on = None


def upgrade():
    rebuild_text_search(op.get_bind(), folding=True)


def downgrade():
    rebuild_text_search(op.get_bind(), folding=False)
