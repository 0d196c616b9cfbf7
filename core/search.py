"""List search: codes by prefix, other text by substring, served by indexes.

Semantics (the same on SQLite and PostgreSQL): the search is split into words;
each word must match one of the searchable columns; a code matches when it
starts with the word (ignoring case), any other text column when it contains
the word ignoring case and accents (``elise`` finds ``Élise``, ``oe`` finds
``œ``); ``%``, ``_`` and ``"`` are plain characters.

Accents and case are folded by one SQL function, ``passerelle_fold(text)``, the
same on both databases as ``fold`` in Python (the search words are folded in
Python): on PostgreSQL an IMMUTABLE wrapper of the ``unaccent`` extension, on
SQLite the Python ``fold`` registered on every connection (``_register_fold``).

Indexes (created by migrations with ``create_text_search``):

* PostgreSQL: a ``pg_trgm`` GIN index on ``passerelle_fold(column)`` for each
  searchable text column, which ``passerelle_fold(column) LIKE '%…%'`` uses,
  and a ``(tenant_id, lower(code) text_pattern_ops)`` index serving
  ``lower(code) LIKE 'word%'``.
* SQLite: a contentless FTS5 table ``<table>_search`` with the trigram
  tokenizer holding the folded columns, kept in sync by triggers, queried with
  ``id IN (SELECT rowid FROM <table>_search WHERE <table>_search MATCH …)`` for
  words of three characters or more (a trigram index cannot find shorter
  ones: those fall back to ``passerelle_fold(column) LIKE``); and a
  ``(tenant_id, lower(code))`` index serving a range on ``lower(code)`` for
  the code prefix; and, until the table is analyzed, planner statistics of a
  large table (see ``_seed_sqlite_statistics``) so that SQLite picks these
  indexes.

A list page (``page=True``: sorted, one page of rows) on SQLite asks the FTS5 table
first whether a word is common (found in ``COMMON_WORD_ROWS`` rows or more, read
with a ``LIMIT``): SQLite cannot estimate that, and would fetch all the rows of a
common word (50,000 of 1,000,000 articles) to sort them and keep 50; the page then
tests the word row by row along the sort's index (``id + 0 IN (…)``: not an index
way in), which stops after its page. A rare word keeps the index way in.

The default sort of a list (by code) is served by the ``(tenant_id, code)``
unique constraint every code/label table has; a sort on another text column is
on ``sort_key(column)`` (folded, then as typed), so that ``Élise`` sorts with the
E's.

Caveat for later SQLite migrations: a batch ("move and copy") migration of an
indexed table drops its triggers and its ``lower(code)`` index with the old
table: call ``drop_text_search`` before and ``create_text_search`` after it.
"""
import itertools
import sqlite3
import unicodedata

from sqlalchemy import String, and_, cast, column, event, func, literal_column, or_, select, text
from sqlalchemy import table as sql_table
from sqlalchemy.engine import Engine

from core.extensions import db

PREFIX_COLUMNS = {"code"}
MIN_INDEXED_WORD = 3  # a trigram index only finds words of three characters or more
COMMON_WORD_ROWS = 2000  # SQLite, list page: a word in this many rows is tested along the sort
MAX_CASE_VARIANTS = 16

FOLD = "passerelle_fold"
_LIGATURES = str.maketrans({"œ": "oe", "Œ": "oe", "æ": "ae", "Æ": "ae"})


def fold(value):
    """``value`` without accents and case, as ``passerelle_fold`` gives it in SQL."""
    if value is None:
        return None
    value = str(value)
    if value.isascii():  # no accent, no ligature (most codes and names): 5× faster, the same result
        return value.lower()
    decomposed = unicodedata.normalize("NFKD", value.translate(_LIGATURES))
    return "".join(char for char in decomposed if not unicodedata.combining(char)).casefold()


@event.listens_for(Engine, "connect")
def _register_fold(dbapi_connection, _record):
    """SQLite has no accent folding: every connection gets ``fold`` as a deterministic
    function (the search triggers and queries call it)."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.create_function(FOLD, 1, fold, deterministic=True)


def folded(expression):
    return getattr(func, FOLD)(expression)


def sort_key(attribute) -> list:
    """ORDER BY terms sorting a text column ignoring accents and case, ties as typed."""
    return [folded(attribute), attribute]


# --- DDL, for migrations ---------------------------------------------------------------

_PG_FOLD_FUNCTION = (
    f"CREATE OR REPLACE FUNCTION {FOLD}(text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT "
    "AS $$ SELECT lower(public.unaccent('public.unaccent'::regdictionary, $1)) $$")

def search_table(table: str) -> str:
    """The SQLite FTS5 table indexing ``table``."""
    return f"{table}_search"


def _ddl_create(dialect: str, table: str, columns, code: str | None, folding: bool = True) -> list[str]:
    """The DDL of a table's search indexes (``folding`` False: the case-only indexes of
    the migrations before accent folding, for their downgrade)."""
    if dialect == "postgresql":
        statements = ["CREATE EXTENSION IF NOT EXISTS pg_trgm"]
        if folding:
            statements += ["CREATE EXTENSION IF NOT EXISTS unaccent", _PG_FOLD_FUNCTION]
        indexed = (lambda name: f"{FOLD}({name})") if folding else (lambda name: name)
        statements += [f"CREATE INDEX ix_{table}_{column}_trgm ON {table} USING gin ({indexed(column)} gin_trgm_ops)"
                       for column in columns]
        if code:
            statements.append(f"CREATE INDEX ix_{table}_{code}_prefix ON {table} "
                              f"(tenant_id, lower({code}) text_pattern_ops)")
        return statements
    if dialect == "sqlite":
        fts = search_table(table)
        names = ", ".join(columns)
        value = (lambda row, name: f"{FOLD}({row}.{name})") if folding else (lambda row, name: f"{row}.{name}")
        new = ", ".join(value("new", column) for column in columns)
        old = ", ".join(value("old", column) for column in columns)
        delete = f"INSERT INTO {fts}({fts}, rowid, {names}) VALUES ('delete', old.id, {old});"
        insert = f"INSERT INTO {fts}(rowid, {names}) VALUES (new.id, {new});"
        content = "''" if folding else f"'{table}', content_rowid='id'"
        fill = (f"INSERT INTO {fts}(rowid, {names}) SELECT id, {', '.join(value(table, c) for c in columns)} "
                f"FROM {table}") if folding else f"INSERT INTO {fts}({fts}) VALUES ('rebuild')"
        statements = [
            f"CREATE VIRTUAL TABLE {fts} USING fts5({names}, content={content}, tokenize='trigram')",
            f"CREATE TRIGGER {fts}_insert AFTER INSERT ON {table} BEGIN {insert} END",
            f"CREATE TRIGGER {fts}_delete AFTER DELETE ON {table} BEGIN {delete} END",
            f"CREATE TRIGGER {fts}_update AFTER UPDATE OF id, {names} ON {table} BEGIN {delete} {insert} END",
            fill,
        ]
        if code:
            statements.append(f"CREATE INDEX ix_{table}_{code}_prefix ON {table} (tenant_id, lower({code}))")
        return statements
    return []


# SQLite without statistics assumes ``tenant_id = ?`` keeps 10 rows: it then walks the
# (tenant_id, code) index of a large table row by row instead of using the search indexes
# (P3: 20× slower at 1M rows). Until ANALYZE (or PRAGMA optimize) measures the table, it
# gets the statistics of a large table shared by a few tenants.
ASSUMED_ROWS, ASSUMED_ROWS_PER_TENANT = 1_000_000, 100_000


def _seed_sqlite_statistics(bind, table: str) -> None:
    bind.execute(text("ANALYZE sqlite_schema"))  # creates sqlite_stat1 if needed, analyzes nothing
    if bind.execute(text("SELECT 1 FROM sqlite_stat1 WHERE tbl = :t"), {"t": table}).first():
        return  # measured statistics: keep them
    for index in bind.execute(text(f"PRAGMA index_list({table})")).all():
        keys = [row for row in bind.execute(text(f"PRAGMA index_xinfo('{index[1]}')")).all() if row[5]]
        if keys and keys[0][2] == "tenant_id":
            stat = " ".join([str(ASSUMED_ROWS), str(ASSUMED_ROWS_PER_TENANT)] + ["1"] * (len(keys) - 1))
            bind.execute(text("INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (:t, :i, :s)"),
                         {"t": table, "i": index[1], "s": stat})


def _ddl_drop(dialect: str, table: str, columns, code: str | None) -> list[str]:
    statements = [f"DROP INDEX IF EXISTS ix_{table}_{code}_prefix"] if code else []
    if dialect == "postgresql":
        # pg_trgm, unaccent and passerelle_fold stay: other indexes may use them.
        statements += [f"DROP INDEX IF EXISTS ix_{table}_{column}_trgm" for column in columns]
    elif dialect == "sqlite":
        fts = search_table(table)
        statements += [f"DROP TRIGGER IF EXISTS {fts}_{trigger}" for trigger in ("insert", "delete", "update")]
        statements.append(f"DROP TABLE IF EXISTS {fts}")
    return statements


def create_text_search(bind, table: str, columns=("label",), code: str | None = "code",
                       folding: bool = True) -> None:
    """Create the search indexes of ``table`` (trigram on ``columns``, prefix on ``code``),
    filled from the rows already there. ``bind``: a connection (``op.get_bind()``)."""
    for statement in _ddl_create(bind.dialect.name, table, columns, code, folding):
        bind.execute(text(statement))
    if bind.dialect.name == "sqlite":
        _seed_sqlite_statistics(bind, table)
    _indexed_columns.cache_clear()


def drop_text_search(bind, table: str, columns=("label",), code: str | None = "code") -> None:
    """Undo ``create_text_search``."""
    for statement in _ddl_drop(bind.dialect.name, table, columns, code):
        bind.execute(text(statement))
    _indexed_columns.cache_clear()


def _indexed_tables(bind) -> dict[str, tuple[tuple[str, ...], str | None]]:
    """``{table: (searched columns, code column or None)}`` of the search indexes there are."""
    if bind.dialect.name == "sqlite":
        names = [row[0] for row in bind.execute(text(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '%\\_search' ESCAPE '\\'"))]
        tables = {}
        for fts in names:
            table = fts[:-len("_search")]
            columns = tuple(row[1] for row in bind.execute(text(f"PRAGMA table_info({fts})")))
            prefix = bind.execute(text("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = :n"),
                                  {"n": f"ix_{table}_code_prefix"}).first()
            tables[table] = (columns, "code" if prefix else None)
        return tables
    rows = bind.execute(text("SELECT tablename, indexname FROM pg_indexes WHERE schemaname = current_schema() "
                             "AND (indexname LIKE '%\\_trgm' OR indexname LIKE '%\\_code\\_prefix')")).all()
    tables: dict[str, tuple[tuple[str, ...], str | None]] = {}
    for table, index in sorted(rows):
        columns, code = tables.get(table, ((), None))
        middle = index[len(f"ix_{table}_"):]
        if middle.endswith("_trgm"):
            columns += (middle[:-len("_trgm")],)
        else:
            code = "code"
        tables[table] = (columns, code)
    return tables


def rebuild_text_search(bind, folding: bool = True) -> None:
    """Drop and create again every table's search indexes, folding accents or not (the
    migration that brought accent folding, and its downgrade)."""
    for table, (columns, code) in _indexed_tables(bind).items():
        drop_text_search(bind, table, columns, code)
        create_text_search(bind, table, columns, code, folding)


_FTS_SUFFIXES = ("_search", "_search_data", "_search_idx", "_search_config", "_search_docsize",
                 "_search_content")


def include_name(name, type_, parent_names) -> bool:
    """Alembic ``include_name`` hook: autogenerate leaves the search indexes alone (they
    are not in the models: trigram / expression indexes and FTS5 tables)."""
    if type_ == "table" and name and name.endswith(_FTS_SUFFIXES):
        return False
    if type_ == "index" and name and name.startswith("ix_") and name.endswith(("_trgm", "_code_prefix")):
        return False
    return True


# --- Queries -------------------------------------------------------------------------

def _escape(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _fts_phrase(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


def _ascii_lower(word: str) -> str:
    """SQLite's ``lower()``: ASCII letters only."""
    return "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in word)


def _case_variants(word: str) -> list[str]:
    """The spellings of ``word`` differing by the case of non-ASCII letters (SQLite's
    ``LIKE`` and ``lower()`` ignore the case of ASCII letters only)."""
    options = []
    for char in word:
        forms = {char}
        if not char.isascii():
            forms |= {form for form in (char.lower(), char.upper()) if len(form) == 1}
        options.append(sorted(forms))
    count = 1
    for forms in options:
        count *= len(forms)
    if count > MAX_CASE_VARIANTS:
        return sorted({word, word.lower(), word.upper()})
    return ["".join(variant) for variant in itertools.product(*options)]


class _IndexedColumns:
    """The columns of each table's FTS5 table on an SQLite database, read once."""

    def __init__(self):
        self._cache = {}

    def cache_clear(self):
        self._cache.clear()

    def __call__(self, session, table: str) -> frozenset:
        bind = session.get_bind()
        key = (str(bind.url), table)
        if key not in self._cache:
            name = search_table(table)
            exists = session.execute(text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :n"),
                                     {"n": name}).first()
            columns = session.execute(text(f"PRAGMA table_info({name})")).all() if exists else []
            self._cache[key] = frozenset(row[1] for row in columns)
        return self._cache[key]


_indexed_columns = _IndexedColumns()


def _text_attribute(attribute):
    return attribute if isinstance(attribute.type, String) else cast(attribute, String)


def _postgresql_word(model, searchable, word):
    escaped, folded_word = _escape(word), _escape(fold(word))
    matches = []
    for name in searchable:
        attribute = getattr(model, name)
        if name in PREFIX_COLUMNS:
            # lower(code) text_pattern_ops serves a left-anchored LIKE.
            matches.append(func.lower(attribute).like(func.lower(f"{escaped}%")))
        else:
            # A pg_trgm GIN index on passerelle_fold(column) serves LIKE '%…%'.
            matches.append(folded(_text_attribute(attribute)).like(f"%{folded_word}%"))
    return or_(*matches)


def _sqlite_code_prefix(attribute, word):
    """``attribute`` starts with ``word``: a range on ``lower(code)`` (the index) then
    ``LIKE`` (exact: ``%`` and ``_`` stay literal)."""
    clauses = []
    for variant in _case_variants(word):
        low = _ascii_lower(variant)
        exact = attribute.like(f"{_escape(variant)}%", escape="\\")
        if ord(low[-1]) < 0x10FFFF:
            high = low[:-1] + chr(ord(low[-1]) + 1)
            clauses.append(and_(func.lower(attribute) >= low, func.lower(attribute) < high, exact))
        else:
            clauses.append(exact)
    return or_(*clauses)


def _is_common(session, fts: str, query: str) -> bool:
    """Whether the FTS5 ``query`` finds ``COMMON_WORD_ROWS`` rows or more (it stops there)."""
    found = session.execute(text(f"SELECT count(*) FROM (SELECT rowid FROM {fts} WHERE {fts} MATCH :q "
                                 "LIMIT :n)"), {"q": query, "n": COMMON_WORD_ROWS}).scalar()
    return found >= COMMON_WORD_ROWS


def _sqlite_word(session, model, searchable, word, page: bool = False):
    table = model.__table__.name
    indexed = _indexed_columns(session, table) if len(word) >= MIN_INDEXED_WORD else frozenset()
    matches, fts_columns = [], []
    for name in searchable:
        attribute = getattr(model, name)
        if name in PREFIX_COLUMNS:
            matches.append(_sqlite_code_prefix(attribute, word))
        elif name in indexed:
            fts_columns.append(name)
        else:
            matches.append(folded(_text_attribute(attribute)).like(f"%{_escape(fold(word))}%", escape="\\"))
    if fts_columns:
        fts = search_table(table)
        # The index holds folded text; the trigram tokenizer matches a phrase as a substring.
        query = "{" + " ".join(fts_columns) + "} : " + _fts_phrase(fold(word))
        rowids = select(column("rowid")).select_from(sql_table(fts)).where(
            literal_column(fts).op("MATCH")(query))
        row_id = model.id + 0 if page and _is_common(session, fts, query) else model.id
        matches.append(row_id.in_(rowids))
    return or_(*matches)


def search_clause(model, searchable, search: str | None, session=None, page: bool = False):
    """A WHERE clause for a list search, or None when there is nothing to search.
    ``page``: the clause of one sorted page of a list (see the module's doc), not of a
    count or an export."""
    words = [word for word in (search or "").split() if word]
    if not words or not searchable:
        return None
    session = session or db.session
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        return and_(*(_sqlite_word(session, model, searchable, word, page) for word in words))
    if dialect == "postgresql":
        return and_(*(_postgresql_word(model, searchable, word) for word in words))
    return and_(*(_generic_word(model, searchable, word) for word in words))


def _generic_word(model, searchable, word):
    escaped = _escape(word)
    matches = []
    for name in searchable:
        attribute = getattr(model, name)
        if name in PREFIX_COLUMNS:
            matches.append(_text_attribute(attribute).ilike(f"{escaped}%", escape="\\"))
        else:
            matches.append(folded(_text_attribute(attribute)).like(f"%{_escape(fold(word))}%", escape="\\"))
    return or_(*matches)
