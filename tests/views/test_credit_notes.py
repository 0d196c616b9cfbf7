"""Credit notes and the invoice document on the screens (interfaces.md): *Créer un avoir*
(POST ``/admin/invoices/credit-note/``), the PDF at ``/admin/invoices/pdf/?id=N`` served
byte-identical, the signed exports, the *Société* tab and the ``invoices pdf`` command."""
import io
from decimal import Decimal as D

import openpyxl
import pytest

from core.extensions import db
from models import DossierSettings
from models.invoices import Invoice, InvoiceDocument
from tests.rules.invoice_factory import draft_invoice, invoice_setup


@pytest.fixture
def validated(app, tenants, browser):
    with app.app_context():
        setup = invoice_setup(tenants["ACME"])
        invoice = draft_invoice(tenants["ACME"], setup, lines=[(D("10"), D("10"), "vat20")])
        db.session.commit()
        invoice_id = invoice.id
    b = browser("backoffice@acme.test")
    page = b.post("/admin/invoices/validate/", {"id": str(invoice_id)}, follow_redirects=True).get_data(as_text=True)
    assert "FA00001" in page
    return invoice_id


def _credit(app, **where):
    with app.app_context():
        return db.session.query(Invoice).filter_by(kind="credit_note", **where).one()


def test_create_a_credit_note_from_the_invoice_screen_then_validate_it(app, browser, validated):
    b = browser("backoffice@acme.test")
    details = b.get(f"/admin/invoices/details/?id={validated}").get_data(as_text=True)
    assert 'id="create-credit-note"' in details and "Créer un avoir" in details
    response = b.post("/admin/invoices/credit-note/", {"id": str(validated)})
    assert response.status_code == 302 and "/admin/invoices/edit/" in response.headers["Location"]
    credit = _credit(app)
    assert (credit.state, credit.credited_invoice_id, credit.total_incl_vat) == ("draft", validated, D("120.00"))
    page = b.post("/admin/invoices/validate/", {"id": str(credit.id)}, follow_redirects=True).get_data(as_text=True)
    assert "AV00001" in page
    details = b.get(f"/admin/invoices/details/?id={validated}").get_data(as_text=True)
    assert "AV00001" in details and 'id="fully-credited"' in details and "Avoirée" in details
    again = b.post("/admin/invoices/credit-note/", {"id": str(validated)}, follow_redirects=True)
    assert again.status_code == 200 and "entièrement" in again.get_data(as_text=True)


def test_a_viewer_cannot_create_a_credit_note_and_another_tenant_gets_404(app, browser, validated):
    assert browser("viewer@acme.test").post("/admin/invoices/credit-note/", {"id": str(validated)}).status_code == 403
    assert browser("backoffice@beta.test").post(
        "/admin/invoices/credit-note/", {"id": str(validated)}).status_code == 404
    assert browser("backoffice@beta.test").get(f"/admin/invoices/pdf/?id={validated}").status_code == 404


def test_the_pdf_download_is_stored_and_served_byte_identical(app, browser, validated):
    b = browser("viewer@acme.test")
    first = b.get(f"/admin/invoices/pdf/?id={validated}")
    assert first.status_code == 200 and first.mimetype == "application/pdf"
    assert "facture-FA00001.pdf" in first.headers["Content-Disposition"]
    assert first.headers["X-Content-Type-Options"] == "nosniff"
    second = b.get(f"/admin/invoices/pdf/?id={validated}")
    assert second.data == first.data
    with app.app_context():
        stored = db.session.query(InvoiceDocument).one()  # made right after the validation committed
        assert stored.content == first.data


def test_exports_sign_credit_notes_negative(app, browser, validated):
    b = browser("backoffice@acme.test")
    b.post("/admin/invoices/credit-note/", {"id": str(validated)})
    credit = _credit(app)
    b.post("/admin/invoices/validate/", {"id": str(credit.id)})
    sheet = openpyxl.load_workbook(io.BytesIO(b.get("/admin/invoices/export/xlsx/").data)).active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    header = rows[0]
    by_number = {row[header.index("Numéro")]: row for row in rows[1:]}
    total = header.index("Total TTC")
    assert by_number["FA00001"][total] == 120 and by_number["AV00001"][total] == -120
    assert sum(row[total] for row in rows[1:]) == 0


def test_the_company_tab_checks_its_numbers_next_to_their_fields(app, browser, tenants):
    b = browser("admin@acme.test")
    page = b.get("/admin/dossier-settings/?tab=company").get_data(as_text=True)
    assert 'id="tab-company"' in page and "Société" in page
    response = b.post("/admin/dossier-settings/", {
        "labour_nature_prefix": "4MO", "labour_sales_coefficient": "1", "supply_sales_coefficient": "1",
        "difficulty_coefficient": "1", "overhead_coefficient": "1", "quote_validity_days": "30",
        "payment_terms_days": "30", "siren": "732829321", "siret": "55210055400013", "bic": "XX",
        "vat_number": "FR44732829320", "country": "Atlantide", "active_tab": "company"})
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "SIREN" in text and "BIC" in text and "Atlantide" in text
    with app.app_context():
        assert db.session.query(DossierSettings).filter_by(tenant_id=tenants["ACME"]).one().siren is None


def test_the_invoices_pdf_command_writes_the_stored_document(app, validated, tmp_path):
    output = tmp_path / "FA00001.pdf"
    result = app.test_cli_runner().invoke(args=["invoices", "pdf", "--tenant", "ACME", "FA00001", "-o", str(output)])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert output.read_bytes() == db.session.query(InvoiceDocument).one().content
    missing = app.test_cli_runner().invoke(args=["invoices", "pdf", "--tenant", "ACME", "FA99", "-o", str(output)])
    assert missing.exit_code != 0
