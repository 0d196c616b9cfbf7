"""A back-office user imports clients from a file, creates an invoice for one of them
and validates it: the invoice takes the next number of the invoice sequence."""
import io
from decimal import Decimal

from pypdf import PdfReader

from core.extensions import db
from models import NumberingSequence, VatRate
from models.invoices import Invoice
from tests.e2e.test_operation_codes import choose_select2, log_in
from rules.invoices import compute_totals
from tests.rules.invoice_factory import draft_invoice, invoice_setup, legal_identity

CLIENTS_CSV = ("code;name;city;postcode;email;siren\n"
               "C100;Martin Rénovation;Lyon;69003;contact@martin.test;552100554\n"
               "C101;Résidence Les Tilleuls;Villeurbanne;69100;syndic@tilleuls.test;542051180\n").encode("utf-8")


def _invoice_parameters(app, tenant_id):
    with app.app_context():
        legal_identity(tenant_id)  # the company identity that validation requires (invoicing.md)
        db.session.add_all([
            VatRate(tenant_id=tenant_id, code="T20", label="TVA 20 %", rate=Decimal("20")),
            NumberingSequence(tenant_id=tenant_id, code="FAC", label="Factures", document_type="invoice",
                              prefix="FA", padding=6, next_number=57, gapless=True),
        ])
        db.session.commit()


def test_import_clients_then_create_and_validate_an_invoice(app, tenants, page, screenshot):
    _invoice_parameters(app, tenants["ACME"])
    log_in(page, "backoffice@acme.test")

    page.goto("/admin/clients/import/")
    page.set_input_files("input[name=file]", files=[{"name": "clients.csv", "mimeType": "text/csv",
                                                     "buffer": CLIENTS_CSV}])
    with page.expect_navigation():
        page.click("#import-upload button")
    screenshot("import-preview")
    with page.expect_navigation():
        page.click("#import-confirm")
    assert "Martin Rénovation" in page.inner_text("body")
    screenshot("clients-imported")

    page.goto("/admin/invoices/new/")
    choose_select2(page, "client", "C100")
    page.fill("textarea#memo", "Travaux de mise aux normes électriques")
    page.click("#lines-button")
    page.fill("input#lines-0-label", "Remplacement tableau électrique")
    page.fill("input#lines-0-quantity", "1")
    page.fill("input#lines-0-unit_price", "850")
    page.select_option("select#lines-0-vat_rate", label="T20 — 20 %")
    screenshot("invoice-form")
    with page.expect_navigation():
        page.click("form.admin-form input[type=submit]")
    with app.app_context():
        invoice = db.session.query(Invoice).one()
        assert invoice.state == "draft" and invoice.total_incl_vat == Decimal("1020.00")
        invoice_id = invoice.id

    page.goto(f"/admin/invoices/details/?id={invoice_id}")
    page.once("dialog", lambda dialog: dialog.accept())  # Valider asks for confirmation
    with page.expect_navigation():
        page.click("#validate-invoice")
    screenshot("invoice-validated")
    assert "FA000057" in page.inner_text("body")
    with app.app_context():
        assert db.session.get(Invoice, invoice_id).number == "FA000057"


def test_validate_download_then_credit_part_of_the_invoice(app, tenants, page, screenshot):
    """Validate a draft, download its Factur-X PDF, create a credit note from the invoice
    screen, credit part of it by lowering a quantity, validate the credit note."""
    with app.app_context():
        setup = invoice_setup(tenants["ACME"])
        invoice = draft_invoice(tenants["ACME"], setup, lines=[(Decimal("10"), Decimal("10"), "vat20")])
        compute_totals(invoice)  # as saving the draft does
        db.session.commit()
        invoice_id = invoice.id
    log_in(page, "backoffice@acme.test")
    page.goto(f"/admin/invoices/details/?id={invoice_id}")
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        page.click("#validate-invoice")
    assert "FA00001" in page.inner_text("body")
    with page.expect_download() as download:
        page.click("#download-pdf")
    content = open(download.value.path(), "rb").read()
    assert download.value.suggested_filename == "facture-FA00001.pdf" and content.startswith(b"%PDF")
    assert list(PdfReader(io.BytesIO(content)).attachments) == ["factur-x.xml"]

    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        page.click("#create-credit-note")
    screenshot("credit-note-draft")
    page.fill("input#lines-0-quantity", "4")
    with page.expect_navigation():
        page.click("form.admin-form input[type=submit]")
    with app.app_context():
        credit = db.session.query(Invoice).filter_by(kind="credit_note").one()
        assert credit.total_incl_vat == Decimal("48.00") and credit.credited_invoice_id == invoice_id
        credit_id = credit.id
    page.goto(f"/admin/invoices/details/?id={credit_id}")
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        page.click("#validate-invoice")
    screenshot("credit-note-validated")
    assert "AV00001" in page.inner_text("body")
    page.goto(f"/admin/invoices/details/?id={invoice_id}")
    assert "AV00001" in page.inner_text("#invoice-credit-notes")
    with app.app_context():
        assert db.session.get(Invoice, invoice_id).outstanding_amount == Decimal("72.00")
