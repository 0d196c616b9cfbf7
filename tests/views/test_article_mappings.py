"""Article mappings on screen: the list (roles, uniqueness both ways, other dossier 404),
its export and import (round trip, duplicates refused by row), the bulk grid (rows named,
all or nothing, empty code removes) and the article's form; hostile input never a 500.
Users are made once for the module; mapping rows are reset by each test that needs them."""
import html
import re
import io

import openpyxl
import pytest

from core.extensions import db
from models import Article, AuditLogEntry
from models.exchange import ArticleMapping
from rules.mappings import map_article
from rules.tenancy import create_tenant, create_user
from tests.conftest import PASSWORD, ROLES
from tests.rules.mapping_factory import mapping_setup
from tests.views.hostile import Clients, empty_database


@pytest.fixture(scope="module")
def tenants(app):
    with app.app_context():
        result = {}
        for code in ("ACME", "BETA"):
            tenant = create_tenant(code, f"{code} Bâtiment")
            for role in ROLES:
                create_user(f"{role}@{code.lower()}.test", PASSWORD, [(tenant, role)])
            result[code] = tenant.id
        db.session.commit()
    yield result
    empty_database(app)


@pytest.fixture
def clean_database():
    yield


@pytest.fixture(scope="module")
def browser(app, tenants):
    return Clients(app)


@pytest.fixture(scope="module")
def data(app, tenants):
    with app.app_context():
        acme, beta = mapping_setup(tenants["ACME"]), mapping_setup(tenants["BETA"])
        db.session.commit()
        return {"acme": acme, "beta": beta}


@pytest.fixture
def mapped(app, tenants, data):
    """ACME's PART mappings reset to A1 → E1, A2 → E2; BETA's PART: A1 → SECRET."""
    with app.app_context():
        db.session.query(ArticleMapping).delete()
        a = data["acme"]["articles"]
        map_article(tenants["ACME"], data["acme"]["part"], a["A1"], "E1")
        map_article(tenants["ACME"], data["acme"]["part"], a["A2"], "E2")
        map_article(tenants["BETA"], data["beta"]["part"], data["beta"]["articles"]["A1"], "SECRET")
        db.session.commit()
    return data


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _codes(app, connector_id):
    with app.app_context():
        return {m.article.code: m.external_code for m in db.session.query(ArticleMapping).filter_by(
            connector_id=connector_id)}


def _xlsx(rows) -> bytes:
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _upload(b, data, filename="file.xlsx"):
    return b.post("/admin/article-mappings/import/", {"file": (io.BytesIO(data), filename)},
                  content_type="multipart/form-data")


# --- the list ---------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ROLES)
def test_every_role_reads_the_list_in_french(browser, mapped, role):
    page = _text(browser(f"{role}@acme.test").get("/admin/article-mappings/"))
    assert "Correspondances d'articles" in page and "Code externe" in page and "E1" in page and "PART" in page
    assert "SECRET" not in page
    writes = role != "viewer"
    assert ("/admin/article-mappings/new/" in page) is writes and ("/admin/article-mappings/import/" in page) is writes
    assert "/admin/article-mappings/bulk/" in page


def test_create_is_unique_both_ways_with_french_messages(app, browser, mapped):
    b, acme = browser("backoffice@acme.test"), mapped["acme"]
    same_code = b.post("/admin/article-mappings/new/", {
        "connector": str(acme["part"]), "article": str(acme["articles"]["A3"]), "external_code": "E1"})
    assert same_code.status_code == 200
    assert "correspond déjà à l'article A1" in _text(same_code)
    same_article = b.post("/admin/article-mappings/new/", {
        "connector": str(acme["part"]), "article": str(acme["articles"]["A1"]), "external_code": "NEW"})
    assert "a déjà le code externe E1" in _text(same_article)
    other_connector = b.post("/admin/article-mappings/new/", {
        "connector": str(acme["other"]), "article": str(acme["articles"]["A1"]), "external_code": "E1"})
    assert other_connector.status_code == 302
    assert _codes(app, acme["part"]) == {"A1": "E1", "A2": "E2"}
    assert _codes(app, acme["other"]) == {"A1": "E1"}


def test_other_dossier_rows_are_refused(app, browser, mapped):
    b, beta = browser("backoffice@acme.test"), mapped["beta"]
    with app.app_context():
        beta_mapping = db.session.query(ArticleMapping).filter_by(connector_id=beta["part"]).one().id
    assert b.get(f"/admin/article-mappings/edit/?id={beta_mapping}").status_code == 404
    assert b.get(f"/admin/article-mappings/details/?id={beta_mapping}").status_code == 404
    response = b.post("/admin/article-mappings/new/", {
        "connector": str(beta["part"]), "article": str(beta["articles"]["A3"]), "external_code": "X"})
    assert response.status_code == 200 and "Choix non valide" in _text(response)
    assert _codes(app, beta["part"]) == {"A1": "SECRET"}


@pytest.mark.parametrize("role", ("viewer",))
def test_viewers_cannot_write(browser, mapped, role):
    b, acme = browser(f"{role}@acme.test"), mapped["acme"]
    assert b.get("/admin/article-mappings/new/").status_code == 403
    assert b.post("/admin/article-mappings/new/", {
        "connector": str(acme["part"]), "article": str(acme["articles"]["A3"]), "external_code": "X"}).status_code == 403
    assert b.post("/admin/article-mappings/bulk/", {"connector": "PART"}).status_code == 403
    assert b.get("/admin/article-mappings/import/").status_code == 403
    grid = _text(b.get("/admin/article-mappings/bulk/?connector=PART"))
    assert "disabled" in grid and 'id="mapping-grid-save"' not in grid


# --- export and import ------------------------------------------------------------------------

def test_export_then_import_changes_nothing(app, browser, mapped):
    b = browser("backoffice@acme.test")
    exported = b.get("/admin/article-mappings/export/xlsx/")
    assert exported.status_code == 200
    rows = list(openpyxl.load_workbook(io.BytesIO(exported.data)).active.iter_rows(values_only=True))
    assert rows[0] == ("Connecteur", "Article", "Code externe")
    assert sorted(rows[1:]) == [("PART", "A1", "E1"), ("PART", "A2", "E2")]
    preview = _upload(b, exported.data)
    page = _text(preview)
    assert preview.status_code == 200 and 'id="import-confirm"' in page, page[-3000:]
    before = _codes(app, mapped["acme"]["part"])
    token = page.split('name="upload" value="')[1].split('"')[0]
    assert b.post("/admin/article-mappings/import/confirm/", {"upload": token}).status_code == 302
    assert _codes(app, mapped["acme"]["part"]) == before


def test_import_creates_changes_and_removes_all_or_nothing(app, browser, mapped):
    b, part = browser("backoffice@acme.test"), mapped["acme"]["part"]
    wrong = _upload(b, _xlsx([["connector", "article", "external_code"],
                              ["PART", "A3", "E1"],       # A1's code
                              ["PART", "A4", "N4"],
                              ["PART", "A4", "N5"],       # A4 twice
                              ["NOPE", "A1", "X"],        # unknown connector
                              ["PART", "ZZZ", "X"]]))     # unknown article
    page = _text(wrong)
    assert "correspond déjà à l'article A1" in page and "déjà sur la ligne 3" in page
    assert page.count("Code inconnu") >= 2 or page.count("inconnu") >= 2
    assert 'id="import-confirm"' not in page
    good = _upload(b, "Connecteur;Article;Code externe\r\nPART;A1;E2\r\nPART;A2;E1\r\n"  # a swap
                      "PART;A3; NÉ3 \r\nAUTRE;A1;=1+1\r\n".encode("cp1252"), "mappings.csv")
    page = _text(good)
    assert "import-confirm" in page, re.sub(r"\s+", " ", page)[-3000:]
    token = page.split('name="upload" value="')[1].split('"')[0]
    assert b.post("/admin/article-mappings/import/confirm/", {"upload": token}).status_code == 302
    assert _codes(app, part) == {"A1": "E2", "A2": "E1", "A3": "NÉ3"}
    assert _codes(app, mapped["acme"]["other"]) == {"A1": "=1+1"}
    removal = _upload(b, _xlsx([["connector", "article", "external_code"], ["PART", "A3", ""]]))
    token = _text(removal).split('name="upload" value="')[1].split('"')[0]
    b.post("/admin/article-mappings/import/confirm/", {"upload": token})
    assert _codes(app, part) == {"A1": "E2", "A2": "E1"}


def test_cli_import_reads_the_same_rules(app, mapped, tmp_path):
    path = tmp_path / "mappings.xlsx"
    path.write_bytes(_xlsx([["connector", "article", "external_code"], ["PART", "A3", "E1"]]))
    refused = app.test_cli_runner().invoke(args=["import", "article-mappings", "--tenant", "ACME", str(path)])
    assert refused.exit_code == 1 and "A1" in refused.output
    path.write_bytes(_xlsx([["connector", "article", "external_code"], ["PART", "A3", "E3"]]))
    done = app.test_cli_runner().invoke(args=["import", "article-mappings", "--tenant", "ACME", str(path)])
    assert done.exit_code == 0, done.output
    assert _codes(app, mapped["acme"]["part"])["A3"] == "E3"


@pytest.mark.parametrize("content,filename", [(b"", "empty.csv"), (b"\x00\x01\x02garbage", "x.xlsx"),
                                              (b"connector;article\nPART;A1\n", "missing.csv"),
                                              (b"connector;article;external_code\n", "header.csv")])
def test_hostile_files_get_a_message(browser, mapped, content, filename):
    response = _upload(browser("backoffice@acme.test"), content, filename)
    assert response.status_code == 200 and 'id="import-file-errors"' in _text(response)


# --- the bulk grid ----------------------------------------------------------------------------

def _grid_post(b, data, codes: dict, **extra):
    form = {"connector": "PART", "scope": "all", "article": [str(data["acme"]["articles"][c]) for c in codes]}
    form.update({f"code-{data['acme']['articles'][c]}": value for c, value in codes.items()})
    form.update(extra)
    return b.post("/admin/article-mappings/bulk/", form)


def test_grid_shows_exportable_articles_or_a_filter(browser, mapped):
    b = browser("backoffice@acme.test")
    page = _text(b.get("/admin/article-mappings/bulk/"))
    assert "Choisissez le connecteur" in page
    page = _text(b.get("/admin/article-mappings/bulk/?connector=PART"))
    assert 'data-article="A1"' in page and 'value="E1"' in page and 'data-article="A4"' not in page  # not exportable
    page = _text(b.get("/admin/article-mappings/bulk/?connector=PART&scope=all&family=FAM"))
    assert 'data-article="A1"' in page and 'data-article="A2"' not in page
    page = _text(b.get("/admin/article-mappings/bulk/?connector=PART&scope=all&q=article+4"))
    assert 'data-article="A4"' in page and 'data-article="A1"' not in page


def test_grid_duplicates_are_refused_with_the_rows_named(app, browser, mapped):
    b = browser("backoffice@acme.test")
    response = _grid_post(b, mapped, {"A1": "E1", "A2": "NEW", "A3": "NEW", "A4": "E1"})
    page = _text(response)
    assert response.status_code == 200
    assert "Le code externe NEW est déjà sur la ligne A2" in page
    assert "Le code externe E1 est déjà sur la ligne A1" in page
    assert "Rien n'a été enregistré" in page and page.count("mapping-error") >= 2
    assert 'value="NEW"' in page  # what was typed is shown back
    assert _codes(app, mapped["acme"]["part"]) == {"A1": "E1", "A2": "E2"}
    # a code of an article the grid does not show
    response = _grid_post(b, mapped, {"A3": "E2"})
    assert "correspond déjà à l'article A2" in _text(response)


def test_grid_saves_all_at_once(app, browser, mapped):
    b = browser("backoffice@acme.test")
    response = _grid_post(b, mapped, {"A1": "E2", "A2": "", "A3": "  E3\x00", "A4": ""})
    assert response.status_code == 302 and "connector=PART" in response.headers["Location"]
    assert _codes(app, mapped["acme"]["part"]) == {"A1": "E2", "A3": "E3"}
    page = _text(b.get(response.headers["Location"]))
    assert "Correspondances enregistrées : 1 créée, 1 modifiée, 1 supprimée." in page


@pytest.mark.parametrize("form", [
    {"connector": "PART", "article": "99999999999999999999"},
    {"connector": "PART", "article": "abc"},
    {"connector": "PART", "article": "-3"},
    {"connector": "NOPE\x00", "article": "1"},
    {"connector": "", "article": "1"},
])
def test_grid_hostile_posts_are_4xx(browser, mapped, form):
    assert browser("backoffice@acme.test").post("/admin/article-mappings/bulk/", form).status_code in (400, 404)


def test_grid_refuses_another_dossier_article(browser, mapped):
    beta_article = mapped["beta"]["articles"]["A1"]
    response = browser("backoffice@acme.test").post("/admin/article-mappings/bulk/", {
        "connector": "PART", "article": str(beta_article), f"code-{beta_article}": "X"})
    assert response.status_code == 404


@pytest.mark.parametrize("query", ["connector=%00", "connector=PART&page=-5", "connector=PART&page=999999999999",
                                   "connector=PART&family=%00&q=%00", "connector=PART&q=" + "x" * 3000,
                                   "connector=PART&scope=<script>"])
def test_grid_hostile_arguments_are_never_a_500(browser, mapped, query):
    assert browser("viewer@acme.test").get(f"/admin/article-mappings/bulk/?{query}").status_code == 200


# --- the article's form -----------------------------------------------------------------------

def test_the_article_form_edits_its_mappings(app, browser, mapped):
    b, acme = browser("backoffice@acme.test"), mapped["acme"]
    with app.app_context():
        article = db.session.get(Article, acme["articles"]["A1"])
        mapping_id = article.mappings[0].id
    base = {"code": "A1", "label": "Article 1", "active": "y", "available_for_export": "y"}
    edit = _text(b.get(f"/admin/articles/edit/?id={acme['articles']['A1']}"))
    assert "Correspondances d'articles" in edit and 'value="E1"' in edit
    refused = b.post(f"/admin/articles/edit/?id={acme['articles']['A1']}", base | {
        "mappings-0-id": str(mapping_id), "mappings-0-connector": str(acme["part"]), "mappings-0-external_code": "E2"})
    assert refused.status_code == 200 and "correspond déjà à l'article A2" in _text(refused)
    twice = b.post(f"/admin/articles/edit/?id={acme['articles']['A1']}", base | {
        "mappings-0-id": str(mapping_id), "mappings-0-connector": str(acme["part"]), "mappings-0-external_code": "E1",
        "mappings-1-connector": str(acme["part"]), "mappings-1-external_code": "E9"})
    assert "apparaît deux fois" in _text(twice)
    saved = b.post(f"/admin/articles/edit/?id={acme['articles']['A1']}", base | {
        "mappings-0-id": str(mapping_id), "mappings-0-connector": str(acme["part"]), "mappings-0-external_code": " E7 ",
        "mappings-1-connector": str(acme["other"]), "mappings-1-external_code": "O1"})
    assert saved.status_code == 302, _text(saved)[-2000:]
    assert _codes(app, acme["part"]) == {"A1": "E7", "A2": "E2"}
    assert _codes(app, acme["other"]) == {"A1": "O1"}
    beta = b.post(f"/admin/articles/edit/?id={acme['articles']['A1']}", base | {
        "mappings-0-connector": str(mapped["beta"]["part"]), "mappings-0-external_code": "Z"})
    assert beta.status_code == 200
    assert _codes(app, mapped["beta"]["part"]) == {"A1": "SECRET"}


def test_edit_keeps_its_own_values_and_delete_is_audited(app, browser, mapped):
    b, acme = browser("backoffice@acme.test"), mapped["acme"]
    with app.app_context():
        mapping_id = db.session.query(ArticleMapping).filter_by(
            connector_id=acme["part"], external_code="E1").one().id
    kept = b.post(f"/admin/article-mappings/edit/?id={mapping_id}", {
        "connector": str(acme["part"]), "article": str(acme["articles"]["A1"]), "external_code": "E1"})
    assert kept.status_code == 302
    changed = b.post(f"/admin/article-mappings/edit/?id={mapping_id}", {
        "connector": str(acme["part"]), "article": str(acme["articles"]["A1"]), "external_code": "E1-bis\x00"})
    assert changed.status_code == 302
    assert _codes(app, acme["part"]) == {"A1": "E1-bis", "A2": "E2"}
    assert b.post("/admin/article-mappings/delete/", {"id": str(mapping_id)}).status_code == 302
    assert _codes(app, acme["part"]) == {"A2": "E2"}
    with app.app_context():
        entries = {(entry.action, entry.row_code) for entry in db.session.query(AuditLogEntry).filter_by(
            table_name="article_mappings", row_id=mapping_id)}
    assert ("delete", "A1") in entries and ("update", "A1") in entries


@pytest.mark.parametrize("url", [
    "/admin/article-mappings/?search=%00", "/admin/article-mappings/?flt0_0=%00&sort=9",
    "/admin/article-mappings/?page=99999999999", "/admin/article-mappings/edit/?id=99999999999999999999",
    "/admin/article-mappings/details/?id=-1", "/admin/article-mappings/export/xlsx/?search=%00",
    "/admin/article-mappings/ajax/lookup/?name=article&query=A%00", "/admin/article-mappings/ajax/lookup/?name=article&query=A&offset=-1",
])
def test_hostile_urls_are_never_a_500(browser, mapped, url):
    assert browser("backoffice@acme.test").get(url).status_code in (200, 302, 400, 404)


@pytest.mark.parametrize("article", ["99999999999999999999", str(2 ** 31), "abc", "\x00"])
def test_hostile_form_values_get_a_message(app, browser, mapped, article):
    response = browser("backoffice@acme.test").post("/admin/article-mappings/new/", {
        "connector": str(mapped["acme"]["part"]), "article": article, "external_code": "x" * 500})
    assert response.status_code == 200
    page = _text(response)
    assert "Choix non valide" in page or "Ce champ est requis" in page
    assert "plus de 80 caractères" in page
    assert _codes(app, mapped["acme"]["part"]) == {"A1": "E1", "A2": "E2"}
