"""A back-office user types article mappings in a real browser, in French: the bulk grid
from the Échanges menu (a duplicate refused with its row named, then saved at once), and
the mapping section of the article's form."""
import pytest

from core.extensions import db
from models.exchange import ArticleMapping
from tests.e2e.test_operation_codes import log_in, open_from_menu
from tests.rules.mapping_factory import mapping_setup

GRID_URL = "/admin/article-mappings/bulk/"


@pytest.fixture
def setup(app, tenants):
    with app.app_context():
        values = mapping_setup(tenants["ACME"])
        db.session.commit()
        return values


def _codes(app, connector_id):
    with app.app_context():
        return {m.article.code: m.external_code for m in db.session.query(ArticleMapping).filter_by(
            connector_id=connector_id)}


def test_grid_then_article_form(app, page, setup, screenshot):
    log_in(page, "backoffice@acme.test")
    open_from_menu(page, GRID_URL)
    assert "Choisissez le connecteur" in page.inner_text("body")
    page.select_option("select#grid-connector", "PART")
    with page.expect_navigation():
        page.click("#mapping-grid-filter button")
    a = setup["articles"]
    page.fill(f'input[name="code-{a["A1"]}"]', "EXT-1")
    page.fill(f'input[name="code-{a["A2"]}"]', "EXT-1")
    page.fill(f'input[name="code-{a["A3"]}"]', "EXT-3")
    with page.expect_navigation():
        page.click("#mapping-grid-save")
    screenshot("duplicate")
    error = page.locator('tr[data-article="A2"] .mapping-error').inner_text()
    assert "Le code externe EXT-1 est déjà sur la ligne A1" in error
    assert "Rien n'a été enregistré" in page.inner_text("body")
    assert _codes(app, setup["part"]) == {}
    page.fill(f'input[name="code-{a["A2"]}"]', "EXT-2")
    with page.expect_navigation():
        page.click("#mapping-grid-save")
    assert "Correspondances enregistrées : 3 créées" in page.inner_text("body")
    assert _codes(app, setup["part"]) == {"A1": "EXT-1", "A2": "EXT-2", "A3": "EXT-3"}

    page.goto(f"/admin/articles/edit/?id={a['A1']}")
    assert "Correspondances d'articles" in page.inner_text("body")
    assert page.input_value("input#mappings-0-external_code") == "EXT-1"
    page.fill("input#mappings-0-external_code", "EXT-3")
    with page.expect_navigation():
        page.click("form.admin-form input[type=submit]")
    screenshot("article-form-refused")
    assert "correspond déjà à l'article A3" in page.inner_text("body")
    page.fill("input#mappings-0-external_code", "EXT-9")
    with page.expect_navigation():
        page.click("form.admin-form input[type=submit]")
    assert _codes(app, setup["part"])["A1"] == "EXT-9"
