"""A back-office user imports clients from a file, creates an invoice for one of them
and validates it: the invoice takes the next number of the invoice sequence."""
from decimal import Decimal

from core.extensions import db
from models import NumberingSequence, VatRate
from models.invoices import Invoice
from tests.e2e.test_operation_codes import choose_select2, log_in

CLIENTS_CSV = ("code;name;city;postcode;email\n"
               "C100;Martin Rénovation;Lyon;69003;contact@martin.test\n"
               "C101;Résidence Les Tilleuls;Villeurbanne;69100;syndic@tilleuls.test\n").encode("utf-8")


def _invoice_parameters(app, tenant_id):
    with app.app_context():
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
