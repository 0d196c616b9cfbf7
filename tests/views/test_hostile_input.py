"""Hostile input to the shared mechanisms (issue 7, items 7 to 9): NUL characters in any
text, malformed or out-of-range ids and paging, another tenant's id in an AJAX look-up.
Never a 500: a cleaned value, a 400 / 404 or the field's message."""
from datetime import date

import pytest

from core.extensions import db
from models import Unit
from models.invoices import Invoice, InvoiceAttachment
from models.master_data import Client, Site
from rules.tenancy import create_tenant, create_user
from tests.conftest import PASSWORD, ROLES
from tests.rules.invoice_factory import draft_invoice, invoice_setup
from tests.views.hostile import Clients, empty_database

HUGE = "99999999999999999999"
BEYOND_32_BITS = str(2 ** 31)


@pytest.fixture(scope="module")
def tenants(app):
    """ACME and BETA with one user per role, once for the module (see ``tests/views/hostile.py``)."""
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
    """The module's data stays between its tests (emptied once, by ``tenants``)."""
    yield


@pytest.fixture(scope="module")
def browser(app, tenants):
    return Clients(app)


@pytest.fixture(scope="module")
def rows(app, tenants):
    """A draft invoice with an attachment and a site in ACME, a client and a site in BETA."""
    with app.app_context():
        setup = invoice_setup(tenants["ACME"])
        invoice = draft_invoice(tenants["ACME"], setup)
        site = Site(tenant_id=tenants["ACME"], code="S1", name="Siège", client_id=setup["client"])
        beta_client = Client(tenant_id=tenants["BETA"], code="B1", name="Autre")
        db.session.add_all([site, beta_client])
        db.session.flush()
        beta_site = Site(tenant_id=tenants["BETA"], code="BS", name="Ailleurs", client_id=beta_client.id)
        attachment = InvoiceAttachment(tenant_id=tenants["ACME"], invoice_id=invoice.id, filename="a.pdf",
                                       content=b"%PDF")
        db.session.add_all([beta_site, attachment])
        db.session.commit()
        return {**setup, "invoice": invoice.id, "site": site.id, "beta_client": beta_client.id,
                "beta_site": beta_site.id, "attachment": attachment.id}


# --- NUL characters (item 7) ------------------------------------------------------------------

def test_a_nul_in_the_login_email_is_a_failed_login_not_a_500(browser, tenants):
    b = browser(None)
    response = b.post("/login", {"email": "admin@acme.test\x00", "password": "x\x00"})
    assert response.status_code == 200 and "invalid-feedback" in response.get_data(as_text=True)
    assert b.post("/login", {"email": "backoffice\x00@acme.test", "password": PASSWORD}
                  ).status_code == 302  # the NUL is removed: it is the user's e-mail


@pytest.mark.parametrize("url", [
    "/admin/clients/?search=a%00b",
    "/admin/clients/?flt0_0=%00",
    "/admin/units/?search=%00&sort=%00&page=%00",
    "/admin/sites/ajax/lookup/?name=client&query=C%00",
    "/admin/invoices/ajax/lookup/?name=lines-article&query=%00",
    "/admin/invoices/details/?id=1%00",
    "/admin/invoices/print/?id=%00",
    "/admin/clients/export/xlsx/?search=%00",
    "/admin/invoices/attachments/%00/",
    "/admin/clients%00/",
])
def test_nul_in_query_strings_and_paths(browser, tenants, rows, url):
    response = browser("backoffice@acme.test").get(url)
    assert response.status_code in (200, 404), response.get_data(as_text=True)[:2000]


def test_nul_in_form_fields_is_removed(app, browser, tenants):
    b = browser("consultant@acme.test")
    response = b.post("/admin/units/new/", {"code": "H\x00", "label": "Heure\x00 pleine"})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    with app.app_context():
        unit = db.session.query(Unit).filter_by(tenant_id=tenants["ACME"], code="H").one()
        assert (unit.code, unit.label) == ("H", "Heure pleine")


# --- Malformed ids and paging (item 8) --------------------------------------------------------

@pytest.mark.parametrize("url", [
    f"/admin/invoices/details/?id={HUGE}", f"/admin/invoices/edit/?id={HUGE}",
    f"/admin/invoices/print/?id={HUGE}", f"/admin/invoices/attachments/{HUGE}/",
    f"/admin/invoices/details/?id={BEYOND_32_BITS}", f"/admin/invoices/attachments/{BEYOND_32_BITS}/",
    "/admin/invoices/details/?id=-1", "/admin/invoices/details/?id=abc", "/admin/clients/edit/?id=1_0",
    "/admin/units/?page=-1", f"/admin/units/?page={HUGE}", "/admin/units/?page=100000000",
    f"/admin/units/export/xlsx/?page={HUGE}",
])
def test_malformed_ids_and_pages_are_not_found(browser, tenants, rows, url):
    response = browser("backoffice@acme.test").get(url)
    assert response.status_code == 404, response.get_data(as_text=True)[:2000]
    assert "Page introuvable" in response.get_data(as_text=True) or "n'existe pas" in response.get_data(as_text=True)


@pytest.mark.parametrize("query", ["offset=-1", "limit=-5", f"offset={HUGE}", f"limit={HUGE}", "limit=0"])
def test_lookup_paging_out_of_bounds_is_a_bad_request(browser, tenants, rows, query):
    response = browser("backoffice@acme.test").get(f"/admin/sites/ajax/lookup/?name=client&query=C&{query}")
    assert response.status_code == 400


def test_lookup_paging_within_bounds_answers(browser, tenants, rows):
    response = browser("backoffice@acme.test").get("/admin/sites/ajax/lookup/?name=client&query=C&offset=0&limit=5")
    assert response.status_code == 200 and response.json[0][1].startswith("C001")


def test_sort_index_out_of_range_is_the_default_order(browser, tenants, rows):
    assert browser("viewer@acme.test").get(f"/admin/units/?sort={HUGE}&desc=-1").status_code == 200


@pytest.mark.parametrize("rowid", ["abc", HUGE, "-1", ""])
@pytest.mark.parametrize("action", ["validate", "delete"])
def test_list_actions_refuse_malformed_row_ids(app, browser, tenants, rows, rowid, action):
    b = browser("backoffice@acme.test")
    response = b.post("/admin/invoices/action/", {"action": action, "rowid": [str(rows["invoice"]), rowid]})
    assert response.status_code == 400
    with app.app_context():
        invoice = db.session.get(Invoice, rows["invoice"])
        assert invoice is not None and invoice.state == "draft"


def test_payment_batch_cancel_refuses_malformed_row_ids(browser, tenants):
    b = browser("backoffice@acme.test")
    assert b.post("/admin/payment-batches/action/", {"action": "cancel", "rowid": "abc"}).status_code == 400


@pytest.mark.parametrize("value", [HUGE, "abc", "-1", BEYOND_32_BITS])
def test_posted_ids_out_of_range_are_not_found(browser, tenants, value):
    b = browser("backoffice@acme.test")
    for url in ("/admin/invoices/validate/", "/admin/invoices/cancel/", "/admin/invoices/attachments/",
                "/admin/payment-batches/cancel/"):
        assert b.post(url, {"id": value, "confirm": "1"}).status_code == 404, url


# --- Another tenant's id in an AJAX look-up (item 9) ------------------------------------------

def _invoice_form(rows, **fields):
    return {"invoice_date": date.today().isoformat(), "client": str(rows["client"]), **fields}


@pytest.mark.parametrize("field, key", [("site", "beta_site"), ("client", "beta_client")])
def test_an_invoice_refuses_another_tenants_row_in_a_lookup(app, browser, tenants, rows, field, key):
    b = browser("backoffice@acme.test")
    response = b.post(f"/admin/invoices/edit/?id={rows['invoice']}", _invoice_form(rows, **{field: str(rows[key])}))
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Choix non valide" in page, page[:2000]
    with app.app_context():
        invoice = db.session.get(Invoice, rows["invoice"])
        assert invoice.site_id != rows["beta_site"] and invoice.client_id == rows["client"]


def test_an_invoice_line_refuses_another_tenants_article(app, browser, tenants, rows):
    from models.master_data import Article
    with app.app_context():
        article = Article(tenant_id=tenants["BETA"], code="ART", label="Ailleurs")
        db.session.add(article)
        db.session.commit()
        article_id = article.id
    b = browser("backoffice@acme.test")
    response = b.post("/admin/invoices/new/", _invoice_form(rows, **{
        "lines-0-position": "1", "lines-0-label": "Pose", "lines-0-kind": "labour", "lines-0-quantity": "1",
        "lines-0-unit_price": "10", "lines-0-article": str(article_id)}))
    assert response.status_code == 200 and "Choix non valide" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.query(Invoice).filter_by(tenant_id=tenants["ACME"]).count() == 1


def test_a_lookup_of_the_own_tenant_is_saved(app, browser, tenants, rows):
    b = browser("backoffice@acme.test")
    response = b.post(f"/admin/invoices/edit/?id={rows['invoice']}", _invoice_form(rows, site=str(rows["site"])))
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    with app.app_context():
        assert db.session.get(Invoice, rows["invoice"]).site_id == rows["site"]


def test_a_job_site_refuses_another_tenants_site(app, browser, tenants, rows):
    b = browser("backoffice@acme.test")
    response = b.post("/admin/job-sites/new/", {"code": "CH1", "name": "Chantier", "client": str(rows["client"]),
                                                "site": str(rows["beta_site"]), "status": "open"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Choix non valide" in page
