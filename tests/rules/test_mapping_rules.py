import pytest

from core.extensions import db
from models.exchange import ArticleMapping
from rules import mappings
from rules.mappings import MappingError, map_article, mapped_articles, mapping_errors, save_mappings
from tests.rules.mapping_factory import mapping_setup


@pytest.fixture
def tenants(app):
    """ACME and BETA without users (rules need none; hashing passwords is slow)."""
    from rules.tenancy import create_tenant
    with app.app_context():
        result = {code: create_tenant(code, f"{code} Bâtiment").id for code in ("ACME", "BETA")}
        db.session.commit()
        return result



def _all(connector_id):
    return {m.article.code: m.external_code for m in db.session.query(ArticleMapping).filter_by(
        connector_id=connector_id)}


@pytest.fixture
def setup(app_ctx, tenants):
    values = mapping_setup(tenants["ACME"])
    db.session.commit()
    return values


def test_map_article_is_unique_both_ways_per_connector(setup, tenants):
    acme, a = tenants["ACME"], setup["articles"]
    map_article(acme, setup["part"], a["A1"], "  EXT-1 ")
    with pytest.raises(MappingError) as refused:
        map_article(acme, setup["part"], a["A2"], "EXT-1")
    assert "A1" in refused.value.errors["external_code"]
    map_article(acme, setup["other"], a["A2"], "EXT-1")  # another connector: allowed
    map_article(acme, setup["part"], a["A1"], "EXT-9")  # the article's code changes
    db.session.commit()
    assert _all(setup["part"]) == {"A1": "EXT-9"}
    errors = mapping_errors(acme, setup["part"], a["A1"], "EXT-2")
    assert "EXT-9" in errors["article"]
    assert mapping_errors(acme, setup["part"], a["A3"], "x" * 81)["external_code"]
    assert mapping_errors(acme, setup["part"], a["A3"], "\x00 ")["external_code"]
    assert mapping_errors(tenants["BETA"], setup["part"], a["A3"], "E")["connector"]
    assert mapping_errors(acme, None, None, "E").keys() == {"connector", "article"}
    assert mapping_errors(acme, 2 ** 40, 2 ** 40, "E").keys() == {"connector", "article"}


def test_mapped_articles_is_batched(setup, tenants, monkeypatch):
    a = setup["articles"]
    for n, code in enumerate(("X1", "X2", "X3"), start=1):
        map_article(tenants["ACME"], setup["part"], a[f"A{n}"], code)
    monkeypatch.setattr(mappings, "LOOKUP_BATCH", 2)
    assert mapped_articles(setup["part"], ["X1", "X2", "X3", "NOPE", ""]) == {
        "X1": a["A1"], "X2": a["A2"], "X3": a["A3"]}
    assert mapped_articles(setup["other"], ["X1"]) == {}


def test_save_mappings_all_or_nothing_with_rows_named(setup, tenants):
    acme, a, part = tenants["ACME"], setup["articles"], setup["part"]
    map_article(acme, part, a["A4"], "TAKEN")
    db.session.commit()
    result = save_mappings(acme, part, [
        {"article_id": a["A1"], "external_code": "E1", "name": "A1"},
        {"article_id": a["A2"], "external_code": "E1", "name": "A2"},
        {"article_id": a["A3"], "external_code": "TAKEN", "name": "A3"},
        {"article_id": a["A1"], "external_code": "E5", "name": "A1 bis"},
    ])
    assert not result.ok
    assert "A1" in result.errors[1] and "E1" in result.errors[1]
    assert "A4" in result.errors[2]
    assert "A1" in result.errors[3]
    assert 0 not in result.errors
    assert _all(part) == {"A4": "TAKEN"}


def test_save_mappings_creates_changes_swaps_and_removes(setup, tenants):
    acme, a, part = tenants["ACME"], setup["articles"], setup["part"]
    map_article(acme, part, a["A1"], "E1")
    map_article(acme, part, a["A2"], "E2")
    map_article(acme, part, a["A4"], "E4")
    db.session.commit()
    result = save_mappings(acme, part, [
        {"article_id": a["A1"], "external_code": "E2"},  # the codes of A1 and A2 swap
        {"article_id": a["A2"], "external_code": "E1"},
        {"article_id": a["A3"], "external_code": " E3 "},
        {"article_id": a["A4"], "external_code": ""},  # removed
    ])
    assert result.ok, result.errors
    assert (result.created, result.updated, result.removed) == (1, 2, 1)
    db.session.commit()
    assert _all(part) == {"A1": "E2", "A2": "E1", "A3": "E3"}
    # a code freed by the grid may go to a row of it; a code of an article outside the grid may not
    assert save_mappings(acme, part, [{"article_id": a["A4"], "external_code": "E3"}]).errors[0]


def test_save_mappings_refuses_other_dossiers_and_garbage(setup, tenants):
    acme, a, part = tenants["ACME"], setup["articles"], setup["part"]
    beta = mapping_setup(tenants["BETA"])
    result = save_mappings(acme, part, [
        {"article_id": beta["articles"]["A1"], "external_code": "E"},
        {"article_id": "1", "external_code": "E"},
        {"article_id": 2 ** 40, "external_code": "F"},
        {"article_id": a["A1"], "external_code": "x" * 200},
    ])
    assert set(result.errors) == {0, 1, 2, 3}
    with pytest.raises(MappingError):
        save_mappings(acme, beta["part"], [])
    assert save_mappings(acme, part, [{"article_id": a["A1"], "external_code": "OK"}], dry_run=True).ok
    assert _all(part) == {}
    db.session.rollback()
