"""List search: codes by prefix (an index range scan), other text by substring.

Each word of the search must match one of the searchable columns. Substring
search on large tables is served by a trigram index: ``pg_trgm`` GIN indexes on
PostgreSQL, and on SQLite the ``<table>_search`` FTS5 trigram table kept by
triggers (see migrations), queried only for words of three letters or more.
"""
from sqlalchemy import and_, or_, select, table, column, text
from sqlalchemy import String, cast

PREFIX_COLUMNS = {"code"}


def _escape(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_clause(model, searchable, search: str | None):
    """A WHERE clause for a list search, or None when there is nothing to search."""
    words = [word for word in (search or "").split() if word]
    if not words or not searchable:
        return None
    clauses = []
    for word in words:
        escaped = _escape(word)
        matches = []
        for name in searchable:
            attribute = getattr(model, name)
            if name in PREFIX_COLUMNS:
                matches.append(attribute.ilike(f"{escaped}%", escape="\\"))
            else:
                matches.append(cast(attribute, String).ilike(f"%{escaped}%", escape="\\"))
        clauses.append(or_(*matches))
    return and_(*clauses)
