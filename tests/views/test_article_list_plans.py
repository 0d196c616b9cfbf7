"""The article list as a large table needs it (quality.md P3), checked by the query plans
of the statements the screen really sends, on SQLite and PostgreSQL: the related rows of
the page joined in its one query (no query per row), the count capped by a ``LIMIT``
(never a full ``count(*)``), a code search through the code prefix index (no scan of the
articles table), a text search through the trigram index (FTS5 / pg_trgm), and a word
found in most rows tested along the sort's index (the page stops after its rows)."""
import re

import pytest
from sqlalchemy import event

from benchmarks.datasets import DATASETS
from benchmarks.harness import analyze
from core.extensions import db

ROWS = 20_000
ARTICLES = DATASETS["articles"]
SQLITE_TABLE_SCAN = re.compile(r"\bSCAN articles\b")  # "SCAN articles" / "… USING INDEX": all its rows


@pytest.fixture
def articles(app, tenants):
    with app.app_context():
        ARTICLES.load(tenants["ACME"], 0, ROWS)
        ARTICLES.load(tenants["BETA"], 0, 100, code_suffix="X")
        analyze(ARTICLES.tables)  # statistics, as any table in use has them
    return tenants


class Statements:
    """The SQL statements (and their parameters) sent while ``capture`` is on."""

    def __init__(self, engine):
        self.sent, self._on = [], False
        event.listen(engine, "before_cursor_execute", self._record)
        self._engine = engine

    def _record(self, _connection, _cursor, statement, parameters, _context, _many):
        if self._on:
            self.sent.append((statement, parameters))

    def capture(self, client, url: str) -> tuple[str, list]:
        self.sent, self._on = [], True
        try:
            response = client.get(url)
        finally:
            self._on = False
        assert response.status_code == 200, url
        return response.get_data(as_text=True), self.sent

    def close(self):
        event.remove(self._engine, "before_cursor_execute", self._record)


@pytest.fixture
def statements(app):
    with app.app_context():
        recorder = Statements(db.engine)
    yield recorder
    recorder.close()


def plan_of(statement: str, parameters) -> str:
    connection = db.session.connection()
    if db.engine.dialect.name == "sqlite":
        rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
        return "\n".join(row[3] for row in rows)
    rows = connection.exec_driver_sql("EXPLAIN " + statement, parameters).all()
    return "\n".join(row[0] for row in rows)


def article_queries(sent) -> tuple[tuple, tuple]:
    """(the page's query, its count query) among the statements of a list request."""
    on_articles = [(sql, params) for sql, params in sent if re.search(r"\bFROM articles\b", sql)]
    counts = [item for item in on_articles if "count(" in item[0]]
    pages = [item for item in on_articles if "count(" not in item[0]]
    assert len(counts) == 1 and len(pages) == 1, [sql[:80] for sql, _params in on_articles]
    return pages[0], counts[0]


def check_capped_count(count) -> None:
    sql, params = count
    assert re.search(r"count\(\*\).*FROM \(SELECT .* LIMIT", sql, re.DOTALL), sql
    plan = plan_of(sql, params)
    if db.engine.dialect.name == "postgresql":
        assert "Limit" in plan, plan


def check_no_table_scan(plan: str) -> None:
    if db.engine.dialect.name == "sqlite":
        assert not SQLITE_TABLE_SCAN.search(plan), plan
    else:
        assert "Seq Scan on articles" not in plan, plan


def check_page_read_in_code_order(sent) -> str:
    """The page's plan (returned) walks the (tenant, code) index, so no sort, and the
    count is capped."""
    page, count = article_queries(sent)
    check_capped_count(count)
    plan = plan_of(*page)
    check_no_table_scan(plan)
    if db.engine.dialect.name == "sqlite":
        assert "TEMP B-TREE FOR ORDER BY" not in plan, plan  # the sort read from the (tenant, code) index
    else:
        assert "uq_articles_tenant_id_code" in plan and "Sort" not in plan, plan
    return plan


def test_first_page_joins_its_related_rows_and_counts_up_to_a_cap(articles, browser, statements, app):
    viewer = browser("viewer@acme.test")
    viewer.get("/admin/articles/")  # the first request of a session reads its user, tenant…
    body, sent = statements.capture(viewer, "/admin/articles/")
    assert "A0000000" in body and "PRES-POS" in body and "A0000049" in body
    assert "A0000000X" not in body
    # One query for the page and its family, subfamily, nature, unit and VAT rate (the
    # labour / supply column reads the joined nature), not one per row.
    assert len(sent) <= 8, [sql[:80] for sql, _params in sent]
    assert not any(re.search(r"\bFROM (article_families|product_natures|units|vat_rates)\b\s+WHERE", sql)
                   for sql, _params in sent)
    with app.app_context():
        check_page_read_in_code_order(sent)


def test_code_search_reads_the_code_prefix_index(articles, browser, statements, app):
    viewer = browser("viewer@acme.test")
    body, sent = statements.capture(viewer, "/admin/articles/?search=a00150")
    assert "A0015000" in body and "A0015049" in body and "A0014999" not in body
    with app.app_context():
        page, count = article_queries(sent)
        check_capped_count(count)
        for sql, params in (page, count):
            plan = plan_of(sql, params)
            assert "ix_articles_code_prefix" in plan, plan
            check_no_table_scan(plan)


def test_text_search_reads_the_trigram_index(articles, browser, statements, app):
    viewer = browser("viewer@acme.test")
    body, sent = statements.capture(viewer, "/admin/articles/?search=0012345")  # in one label
    assert "A0012345" in body
    with app.app_context():
        page, count = article_queries(sent)
        check_capped_count(count)
        for sql, params in (page, count):
            plan = plan_of(sql, params)
            assert ("articles_search VIRTUAL TABLE" if db.engine.dialect.name == "sqlite"
                    else "ix_articles_label_trgm") in plan, plan
            check_no_table_scan(plan)


def test_a_word_in_most_rows_is_tested_along_the_sort(articles, browser, statements, app):
    """« réf » is in every label: fetching its 20,000 rows to sort them and keep 50 would
    grow with the table; the page walks the (tenant, code) index and stops after 50."""
    viewer = browser("viewer@acme.test")
    body, sent = statements.capture(viewer, "/admin/articles/?search=R%C3%89F")
    assert "A0000000" in body and "A0000049" in body
    with app.app_context():
        plan = check_page_read_in_code_order(sent)
        if db.engine.dialect.name == "sqlite":
            assert "articles_search VIRTUAL TABLE" in plan, plan
