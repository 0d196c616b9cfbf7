"""Orders and delivery notes on screen: lists, details with their lines, XLSX export,
read-only for every role for now, another dossier's rows 404, hostile ids never a 500.
The data is made once for the module (see ``tests/views/hostile.py``)."""
import io

import openpyxl
import pytest

from core.extensions import db
from rules.tenancy import create_tenant, create_user
from tests.conftest import PASSWORD, ROLES
from tests.rules.sales_document_factory import make_document, sales_setup
from tests.views.hostile import Clients, empty_database

SCREENS = {"orders": ("order", "CO"), "delivery-notes": ("delivery_note", "BL")}


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
def documents(app, tenants):
    """Two orders and one delivery note in ACME, one order in BETA: their ids."""
    with app.app_context():
        acme = sales_setup(tenants["ACME"])
        beta = sales_setup(tenants["BETA"])
        ids = {
            "orders": [make_document("order", tenants["ACME"], acme, reference=f"CMD-{n}").id for n in (1, 2)],
            "delivery-notes": [make_document("delivery_note", tenants["ACME"], acme, reference="=HYPERLINK(1)").id],
            "beta-order": make_document("order", tenants["BETA"], beta, reference="SECRET-BETA").id,
        }
        db.session.commit()
        return ids


@pytest.mark.parametrize("screen", SCREENS)
@pytest.mark.parametrize("role", ROLES)
def test_every_role_reads_the_list_in_french(browser, documents, screen, role):
    page = browser(f"{role}@acme.test").get(f"/admin/{screen}/").get_data(as_text=True)
    prefix = SCREENS[screen][1]
    assert f"{prefix}00001" in page and "Enregistré" in page and "VIREMENT" in page and "DEP1" in page
    assert "SECRET-BETA" not in page
    assert "146,17" in page  # total incl. VAT, French decimals
    assert f'/admin/{screen}/new/' not in page and f'/admin/{screen}/import/' not in page


@pytest.mark.parametrize("screen", SCREENS)
def test_details_show_the_header_and_the_lines(browser, documents, screen):
    document_id = documents[screen][0]
    response = browser("viewer@acme.test").get(f"/admin/{screen}/details/?id={document_id}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="document-lines"' in page and "MO-POSE" in page and "Main-d&#39;œuvre" in page
    assert "Tube &lt;b&gt;cuivre&lt;/b&gt;" in page and "<b>cuivre" not in page
    assert "35,04" in page and "91,00" in page and "Dépôt" in page and "Mode de règlement" in page


@pytest.mark.parametrize("screen", SCREENS)
def test_the_export_is_an_xlsx_of_the_tenant_rows(browser, documents, screen):
    response = browser("viewer@acme.test").get(f"/admin/{screen}/export/xlsx/")
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    headers = rows[0]
    assert "Numéro" in headers and "Mode de règlement" in headers and "Dépôt" in headers
    body = rows[1:]
    assert len(body) == len(documents[screen])
    assert all("SECRET-BETA" not in row for row in body)
    assert body[0][headers.index("Total TTC")] == pytest.approx(146.17)
    if screen == "delivery-notes":
        reference = headers.index("Référence externe")
        assert body[0][reference] == "=HYPERLINK(1)"  # text, never a formula
        assert sheet.cell(row=2, column=reference + 1).data_type == "s"


@pytest.mark.parametrize("screen", SCREENS)
@pytest.mark.parametrize("role", ROLES)
def test_read_only_for_now_for_every_role(browser, documents, screen, role):
    b = browser(f"{role}@acme.test")
    document_id = documents[screen][0]
    assert b.get(f"/admin/{screen}/new/").status_code == 403
    assert b.get(f"/admin/{screen}/edit/?id={document_id}").status_code == 403
    assert b.post(f"/admin/{screen}/delete/", {"id": str(document_id)}).status_code == 403
    assert b.get(f"/admin/{screen}/import/").status_code == 403


@pytest.mark.parametrize("screen", SCREENS)
@pytest.mark.parametrize("bad_id", ["0", "-1", "abc", "99999999999999999999", str(2 ** 31)])
def test_another_tenant_or_hostile_ids_are_404(browser, documents, screen, bad_id):
    b = browser("admin@acme.test")
    assert b.get(f"/admin/{screen}/details/?id={bad_id}").status_code == 404
    assert b.get(f"/admin/{screen}/details/?id=1%00").status_code in (200, 404)  # the NUL is removed
    assert b.get(f"/admin/{screen}/details/?id=%00").status_code in (302, 404)  # no id: the list
    if screen == "orders":
        assert b.get(f"/admin/orders/details/?id={documents['beta-order']}").status_code == 404


@pytest.mark.parametrize("query", ["search=%00", "flt0_0=%00", "page=99999999999", "sort=99&desc=%00",
                                   "search=" + "x" * 5000, "flt1_14=31%2F02%2F2026"])
def test_hostile_list_arguments_are_never_a_500(browser, documents, query):
    for screen in SCREENS:
        response = browser("backoffice@acme.test").get(f"/admin/{screen}/?{query}")
        assert response.status_code in (200, 302, 400, 404), query
        export = browser("backoffice@acme.test").get(f"/admin/{screen}/export/xlsx/?{query}")
        assert export.status_code in (200, 302, 400, 404), query
