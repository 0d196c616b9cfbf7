"""List search (core/search.py) on SQLite and PostgreSQL: each word must match one
searchable column; codes by prefix, other text by substring; case ignored, accents
kept; ``%`` and ``_`` literal; never another tenant's rows; the trigram / FTS5 index
follows inserts, updates and deletes."""
import re

import pytest
from sqlalchemy import select, text, update

from core.extensions import db
from core.search import (_seed_sqlite_statistics, create_text_search, drop_text_search, fold, search_clause,
                         search_table)
from core.tenancy import tenant_query
from models import Establishment, TextCode, Unit

UNITS = [
    ("VIS-01", "Vis tête fraisée inox"),
    ("VIS-02", "Vis à bois"),
    ("ECR-10", "Écrou hexagonal inox"),
    ("XVIS", "Livraison express"),
    ("A_1", "Taux 100% remisé"),
    ("AB1", "Taux 100 remisé"),
    ("A%B", "Pourcentage"),
    ("AXB", "Axe"),
    ("BAT", "Bâtiment électrique"),
    ("TUBE", 'Tube 1/2" acier'),
]
CODE_LABEL = ("code", "label")


@pytest.fixture
def unit_rows(app, tenants):
    with app.app_context():
        for code, label in UNITS:
            db.session.add(Unit(tenant_id=tenants["ACME"], code=code, label=label))
        # The other tenant has rows matching every search below.
        for code, label in UNITS:
            db.session.add(Unit(tenant_id=tenants["BETA"], code=code + "-BETA", label=label + " beta"))
        db.session.commit()
        db.session.remove()
    return tenants


@pytest.fixture
def units(unit_rows, app_ctx):
    return unit_rows


def found(search, tenant_id, model=Unit, searchable=CODE_LABEL) -> set[str]:
    query = tenant_query(model, tenant_id)
    clause = search_clause(model, searchable, search)
    if clause is not None:
        query = query.filter(clause)
    return {row.code for row in query}


def all_acme() -> set[str]:
    return {code for code, _label in UNITS}


def assert_found(tenant_id, cases):
    failures = [(search, found(search, tenant_id), expected) for search, expected in cases
                if found(search, tenant_id) != expected]
    assert not failures, "\n".join(f"{search!r}: found {got}, expected {expected}"
                                    for search, got, expected in failures)


CODE_BY_PREFIX = [
    # codes by prefix: XVIS contains "vis" but does not start with it (and its label has no "vis")
    ("vis", {"VIS-01", "VIS-02"}),
    ("VIS-0", {"VIS-01", "VIS-02"}),
    ("ecr", {"ECR-10"}),
    ("A_", {"A_1"}),
    ("IS-", set()),  # inside codes only, not at their start
]


def test_code_by_prefix(units):
    assert_found(units["ACME"], CODE_BY_PREFIX)


LABEL_BY_SUBSTRING = [
    ("inox", {"VIS-01", "ECR-10"}),
    ("raiso", {"XVIS"}),            # the middle of a word in the middle of the label
    ("fraisée", {"VIS-01"}),
    ("exagon", {"ECR-10"}),
    ("ai", {"VIS-01", "XVIS"}),     # a short word (no trigram): plain LIKE, still a substring
    ("iv", {"XVIS"}),
    ("press", {"XVIS"}),
]


def test_label_by_substring(units):
    assert_found(units["ACME"], LABEL_BY_SUBSTRING)


CASE_IS_IGNORED = [
    ("INOX", {"VIS-01", "ECR-10"}),
    ("InOx", {"VIS-01", "ECR-10"}),
    ("LIVRAISON", {"XVIS"}),
    ("vis-0", {"VIS-01", "VIS-02"}),
    ("écrou", {"ECR-10"}),          # É in the label, é searched
    ("ÉLECTRIQUE", {"BAT"}),        # é in the label, É searched
    ("ÉL", {"BAT"}),                # the same with a short word
    ("É", {"VIS-01", "ECR-10", "XVIS", "A_1", "AB1", "A%B", "AXB", "BAT", "TUBE"}),  # every e, accented or not
]


def test_case_is_ignored(units):
    assert_found(units["ACME"], CASE_IS_IGNORED)


ACCENTS_ARE_IGNORED = [
    ("bâti", {"BAT"}),
    ("bati", {"BAT"}),
    ("BATI", {"BAT"}),
    ("electrique", {"BAT"}),
    ("ecrou", {"ECR-10"}),
    ("tete", {"VIS-01"}),
    ("tête", {"VIS-01"}),
    ("têté", {"VIS-01"}),            # accents are ignored in the search words too
    ("tetu", set()),                 # but the letters must match
    ("fraisee", {"VIS-01"}),
    ("ai", {"VIS-01", "XVIS"}),      # short words (no trigram) fold too
    ("EL", {"BAT"}),                 # "él" of électrique, without the accent
]


def test_accents_are_ignored(units):
    assert_found(units["ACME"], ACCENTS_ARE_IGNORED)


def test_folding_plain_ascii_text_takes_its_shortcut_to_the_same_result():
    """``fold`` lowers ASCII text without decomposing it: the same as decomposing it."""
    import unicodedata
    every_ascii = "".join(map(chr, range(128)))
    decomposed = "".join(char for char in unicodedata.normalize("NFKD", every_ascii)
                         if not unicodedata.combining(char)).casefold()
    assert fold(every_ascii) == decomposed
    assert fold("Œuvre Électrique") == "oeuvre electrique" and fold(42) == "42" and fold(None) is None


SPECIAL_CHARACTERS_ARE_LITERAL = [
    ("100%", {"A_1"}),
    ("0%", {"A_1"}),
    ("%", {"A_1"}),                  # not A%B: its code has "%" but does not start with it
    ("A_", {"A_1"}),                 # not AB1 nor AXB
    ("_", set()),
    ("A%", {"A%B"}),                 # not AB1, AXB, A_1
    ("a%b", {"A%B"}),
    ('1/2"', {"TUBE"}),              # a double quote (the FTS phrase delimiter)
    ('"', {"TUBE"}),
]


def test_special_characters_are_literal(units):
    assert_found(units["ACME"], SPECIAL_CHARACTERS_ARE_LITERAL)


def test_odd_input_is_plain_text(units):
    # Never an error: FTS5 query syntax and LIKE wildcards are not interpreted.
    for search in ["*", "inox*", "(", ")", "NEAR", "AND", "OR", "NOT", "label:", "{label}", "^vis", "'",
                   "\\", "\\%", "vis\\", "+-", "é*", "inox AND", "vis OR"]:
        assert found(search, units["ACME"]) == set(), search


EVERY_WORD_MUST_MATCH = [
    ("vis inox", {"VIS-01"}),        # "vis" by code or label, "inox" by label
    ("inox vis", {"VIS-01"}),
    ("ecr inox", {"ECR-10"}),        # "ecr" by code prefix only
    ("taux remisé", {"A_1", "AB1"}),
    ("taux 100%", {"A_1"}),
    ("vis bois inox", set()),
    ("  vis   bois  ", {"VIS-02"}),
]


def test_every_word_must_match(units):
    assert_found(units["ACME"], EVERY_WORD_MUST_MATCH)


def test_empty_search_is_no_filter(units):
    assert search_clause(Unit, CODE_LABEL, "") is None
    assert search_clause(Unit, CODE_LABEL, "   ") is None
    assert found(None, units["ACME"]) == all_acme()


def test_rows_of_another_tenant_are_never_found(units):
    for search in ["vis", "inox", "ai", "%", "A_", "vis inox", "é", "TUBE"]:
        acme, beta = found(search, units["ACME"]), found(search, units["BETA"])
        assert acme and not any(code.endswith("-BETA") for code in acme), search
        assert beta and all(code.endswith("-BETA") for code in beta), search
    assert found("beta", units["ACME"]) == set()
    assert found("VIS-01-BETA", units["ACME"]) == set()


def test_other_searchable_columns(app_ctx, tenants):
    """Establishments are searched in their city too, text codes in their body."""
    acme = tenants["ACME"]
    db.session.add_all([
        Establishment(tenant_id=acme, code="LYO", label="Agence centre", city="Villeurbanne"),
        Establishment(tenant_id=acme, code="GRE", label="Agence sud", city="Échirolles"),
        TextCode(tenant_id=acme, code="T1", label="Mention légale", body="Pénalités de retard exigibles"),
    ])
    db.session.commit()
    searchable = ("code", "label", "city")
    assert found("urba", acme, Establishment, searchable) == {"LYO"}
    assert found("échi", acme, Establishment, searchable) == {"GRE"}
    assert found("agence ÉCHIROLLES", acme, Establishment, searchable) == {"GRE"}
    assert found("gre", acme, Establishment, searchable) == {"GRE"}
    assert found("retard", acme, TextCode, ("code", "label", "body")) == {"T1"}
    assert found("PÉNAL", acme, TextCode, ("code", "label", "body")) == {"T1"}


# --- The list screen ---------------------------------------------------------------------

_CODE_CELL = re.compile(r'<td class="col-code">\s*([^<\s][^<]*?)\s*</td>')


def listed(browser_, url) -> set[str]:
    response = browser_.get(url)
    assert response.status_code == 200
    return set(_CODE_CELL.findall(response.get_data(as_text=True)))


# (No app context is held while the test client makes requests: Flask-WTF keeps the
# CSRF token in ``g``, which would then be shared by the requests of different sessions.)

def test_list_screen_search(unit_rows, browser):
    viewer = browser("viewer@acme.test")
    assert listed(viewer, "/admin/units/?search=vis") == {"VIS-01", "VIS-02"}
    assert listed(viewer, "/admin/units/?search=RAISO") == {"XVIS"}
    assert listed(viewer, "/admin/units/?search=vis+inox") == {"VIS-01"}
    assert listed(viewer, "/admin/units/?search=100%25") == {"A_1"}
    assert listed(viewer, "/admin/units/?search=beta") == set()
    beta = browser("viewer@beta.test")
    assert listed(beta, "/admin/units/?search=vis") == {"VIS-01-BETA", "VIS-02-BETA"}


def test_list_screen_search_in_city(app, tenants, browser):
    with app.app_context():
        db.session.add(Establishment(tenant_id=tenants["ACME"], code="LYO", label="Agence", city="Villeurbanne"))
        db.session.commit()
        db.session.remove()
    assert listed(browser("viewer@acme.test"), "/admin/establishments/?search=URBANNE") == {"LYO"}


def test_export_follows_the_search(unit_rows, browser):
    from python_calamine import CalamineWorkbook
    import io

    response = browser("viewer@acme.test").get("/admin/units/export/xlsx/?search=inox")
    assert response.status_code == 200
    rows = CalamineWorkbook.from_filelike(io.BytesIO(response.data)).get_sheet_by_index(0).to_python()
    assert {row[0] for row in rows[1:]} == {"VIS-01", "ECR-10"}


# --- The index stays in sync --------------------------------------------------------------

def _check_sqlite_index(table="units"):
    """On SQLite: the FTS5 table agrees with its content table."""
    if db.engine.dialect.name == "sqlite":
        fts = search_table(table)
        db.session.execute(text(f"INSERT INTO {fts}({fts}, rank) VALUES ('integrity-check', 1)"))


def test_index_follows_insert_update_delete(app_ctx, tenants):
    acme = tenants["ACME"]
    row = Unit(tenant_id=acme, code="SYNC1", label="Câble souple rouge")
    db.session.add(row)
    db.session.commit()
    _check_sqlite_index()
    assert found("souple", acme) == {"SYNC1"}
    assert found("SOUPLE rouge", acme) == {"SYNC1"}

    row.label = "Câble rigide bleu"
    db.session.commit()
    _check_sqlite_index()
    assert found("souple", acme) == set()
    assert found("rigide", acme) == {"SYNC1"}

    row.code = "SYNC2"  # a change of code only (not in the trigram index)
    db.session.commit()
    _check_sqlite_index()
    assert found("rigide", acme) == {"SYNC2"}
    assert found("sync2", acme) == {"SYNC2"}
    assert found("sync1", acme) == set()

    # Plain SQL too (imports and bulk updates do not go through the ORM)
    db.session.execute(update(Unit).where(Unit.id == row.id).values(label="Gaine annelée"))
    db.session.commit()
    _check_sqlite_index()
    assert found("rigide", acme) == set()
    assert found("annelée", acme) == {"SYNC2"}

    db.session.delete(row)
    db.session.commit()
    _check_sqlite_index()
    assert found("annelée", acme) == set()
    assert found("sync", acme) == set()


def test_index_follows_the_screens(app, tenants, browser):
    admin = browser("admin@acme.test")
    response = admin.post("/admin/units/new/", data={"code": "NEW1", "label": "Mètre linéaire galvanisé"})
    assert response.status_code == 302
    assert listed(admin, "/admin/units/?search=galva") == {"NEW1"}
    with app.app_context():
        row_id = db.session.query(Unit.id).filter_by(code="NEW1").scalar()
        db.session.remove()
    response = admin.post(f"/admin/units/edit/?id={row_id}", data={"code": "NEW1", "label": "Mètre carré"})
    assert response.status_code == 302
    assert listed(admin, "/admin/units/?search=galva") == set()
    assert listed(admin, "/admin/units/?search=carré") == {"NEW1"}
    response = admin.post("/admin/units/delete/", data={"id": row_id})
    assert response.status_code == 302
    assert listed(admin, "/admin/units/?search=carré") == set()
    with app.app_context():
        _check_sqlite_index()
        db.session.remove()


def test_creating_the_index_fills_it_with_existing_rows(app_ctx, tenants):
    """What the migration does on a table that already has rows (and its downgrade)."""
    acme = tenants["ACME"]
    connection = db.session.connection()
    drop_text_search(connection, "units")
    try:
        db.session.add(Unit(tenant_id=acme, code="OLD1", label="Cheville à frapper"))
        db.session.flush()
        assert found("frapper", acme) == {"OLD1"}  # without the index: plain LIKE, same answer
    finally:
        create_text_search(connection, "units")
    db.session.commit()
    _check_sqlite_index()
    assert found("frapper", acme) == {"OLD1"}
    assert found("FRAPP", acme) == {"OLD1"}


# --- The indexes are used -----------------------------------------------------------------

def _plan(statement) -> str:
    connection = db.session.connection()
    compiled = statement.compile(dialect=db.engine.dialect)
    params = compiled.params
    if compiled.positional:
        params = tuple(params[name] for name in compiled.positiontup)
    if db.engine.dialect.name == "sqlite":
        rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled), params).all()
        return "\n".join(row[3] for row in rows)
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    return "\n".join(row[0] for row in connection.exec_driver_sql("EXPLAIN " + str(compiled), params).all())


def test_words_are_searched_through_the_indexes(units):
    acme = units["ACME"]
    db.session.execute(Unit.__table__.insert(), [
        {"tenant_id": acme, "code": f"F{i:05d}", "label": f"Article {i} de remplissage"} for i in range(3000)])
    db.session.execute(text("ANALYZE units"))  # statistics, as any table in use has them

    query = tenant_query(Unit, acme).filter(search_clause(Unit, CODE_LABEL, "Inox")).order_by(Unit.code)
    assert {row.code for row in query} == {"VIS-01", "ECR-10"}
    # The clause alone (without the tenant's index as another way in) is served by its indexes.
    plan = _plan(select(Unit.id).where(search_clause(Unit, CODE_LABEL, "Inox")))
    if db.engine.dialect.name == "sqlite":
        assert "units_search VIRTUAL TABLE" in plan       # the FTS5 trigram table
    else:
        assert "ix_units_label_trgm" in plan              # pg_trgm
    assert "ix_units_code_prefix" in plan, plan

    short = tenant_query(Unit, acme).filter(search_clause(Unit, CODE_LABEL, "in"))
    if db.engine.dialect.name == "sqlite":
        assert "units_search" not in _plan(short.statement)  # two letters: no trigram, LIKE
    db.session.rollback()


def test_sqlite_uses_the_indexes_before_any_analyze(units):
    """SQLite without statistics would walk the (tenant_id, code) index of a large table:
    the migration gives the indexed tables the statistics of a large table until ANALYZE."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite planner statistics")
    # As after the migration, whatever earlier tests did to the statistics (ANALYZE, the
    # index dropped and created again); new connections read them from the file.
    db.session.execute(text("DELETE FROM sqlite_stat1 WHERE tbl = 'units'"))
    _seed_sqlite_statistics(db.session.connection(), "units")
    db.session.commit()
    db.session.remove()
    db.engine.dispose()
    query = tenant_query(Unit, units["ACME"]).filter(search_clause(Unit, CODE_LABEL, "Inox")).order_by(Unit.code)
    plan = _plan(query.statement)
    assert "MULTI-INDEX OR" in plan and "ix_units_code_prefix" in plan and "units_search VIRTUAL TABLE" in plan


def test_the_accent_folding_migration_and_its_downgrade(units):
    """``rebuild_text_search`` is the migration: every search index discovered and rebuilt
    (case only on downgrade, accents folded on upgrade), rows already there indexed."""
    from core.search import rebuild_text_search
    connection = db.session.connection()
    rebuild_text_search(connection, folding=False)
    rebuild_text_search(connection, folding=True)
    db.session.commit()
    _check_sqlite_index()
    assert found("bati", units["ACME"]) == {"BAT"}
    assert found("ECROU", units["ACME"]) == {"ECR-10"}
    if db.engine.dialect.name == "sqlite":
        indexed = db.session.execute(text("SELECT name FROM sqlite_master WHERE name LIKE '%\\_search' ESCAPE '\\'"))
        assert {"units_search", "clients_search", "articles_search"} <= {row[0] for row in indexed}


def test_sort_on_a_text_column_ignores_accents_and_case(app, tenants, browser):
    """ui.md: ``Élise`` sorts with the E's (sort index 1 is the label of the units list)."""
    labels = {"U1": "Zoé", "U2": "élise", "U3": "Alain", "U4": "Eric", "U5": "Élodie", "U6": "émile"}
    with app.app_context():
        db.session.add_all(Unit(tenant_id=tenants["ACME"], code=code, label=label) for code, label in labels.items())
        db.session.commit()
        db.session.remove()
    page = browser("viewer@acme.test").get("/admin/units/?sort=1").get_data(as_text=True)
    assert [labels[code] for code in _CODE_CELL.findall(page)] == ["Alain", "élise", "Élodie", "émile", "Eric", "Zoé"]
    page = browser("viewer@acme.test").get("/admin/units/?sort=1&desc=1").get_data(as_text=True)
    assert [labels[code] for code in _CODE_CELL.findall(page)][0] == "Zoé"
