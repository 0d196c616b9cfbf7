"""A French back-office user enters an invoice in the line grid: picks a client and sees
only its sites, adds lines by choosing articles (one priced by the pricing rule), types a
quantity with a decimal comma, sees the running totals in French, saves, reads the server's
totals, validates after the confirmation and then finds no edit nor delete action."""
import re
from decimal import Decimal as D

from core.extensions import db
from models import DossierSettings, NumberingSequence, ProductNature, Site, Unit, VatRate
from models.invoices import Invoice
from models.master_data import Article, Client
from tests.e2e.test_operation_codes import choose_select2, log_in
from tests.rules.invoice_factory import legal_identity

SPACES = re.compile(r"[\s\u00a0\u202f]+")


def _dossier(app, tenant_id):
    with app.app_context():
        vat20 = VatRate(tenant_id=tenant_id, code="T20", label="TVA 20 %", rate=D("20"))
        vat10 = VatRate(tenant_id=tenant_id, code="T10", label="TVA 10 %", rate=D("10"))
        legal_identity(tenant_id)  # the company identity that validation requires (invoicing.md)
        unit = Unit(tenant_id=tenant_id, code="H", label="Heure", un_ece_code="HUR")
        nature = ProductNature(tenant_id=tenant_id, code="4MO", label="Main-d'œuvre")
        client = Client(tenant_id=tenant_id, code="C100", name="Martin Rénovation", siren="552100554")
        other = Client(tenant_id=tenant_id, code="C200", name="Résidence Les Tilleuls", siren="542051180")
        db.session.add_all([vat20, vat10, unit, nature, client, other, NumberingSequence(
            tenant_id=tenant_id, code="FAC", label="Factures", document_type="invoice", prefix="FA", padding=6,
            next_number=57, gapless=True)])
        settings = db.session.query(DossierSettings).filter_by(tenant_id=tenant_id).one()
        settings.labour_sales_coefficient, settings.overhead_coefficient = D("1.35"), D("1.10")
        db.session.flush()
        db.session.add_all([
            Site(tenant_id=tenant_id, code="S-MARTIN", name="Atelier Martin", client_id=client.id),
            Site(tenant_id=tenant_id, code="S-TILLEULS", name="Bâtiment A", client_id=other.id),
            Article(tenant_id=tenant_id, code="PRISE", label="Prise 16 A encastrée", sale_price=D("1234.5"),
                    vat_rate_id=vat20.id),
            Article(tenant_id=tenant_id, code="MO-ELEC", label="Heure électricien", net_purchase_price=D("32"),
                    nature_id=nature.id, unit_id=unit.id, vat_rate_id=vat10.id),
        ])
        db.session.commit()


def _text(page, selector) -> str:
    return SPACES.sub(" ", page.inner_text(selector)).strip()


def _choose_article(page, row: int, code: str) -> None:
    page.click("#lines-button")
    choose_select2(page, f"lines-{row}-article", code)
    page.wait_for_function(f"document.querySelector('#lines-{row}-label').value !== ''")


def test_enter_an_invoice_in_the_grid_and_validate_it(app, tenants, page, screenshot):
    _dossier(app, tenants["ACME"])
    log_in(page, "backoffice@acme.test")
    page.goto("/admin/invoices/new/")
    assert "Ajouter une ligne" in page.inner_text("form.admin-form")

    choose_select2(page, "client", "C100")
    page.click("#s2id_site a.select2-choice")
    page.locator("#select2-drop:visible input.select2-input").fill("S")
    offered = page.locator("#select2-drop:visible li.select2-result-selectable")
    offered.first.wait_for()
    assert offered.all_inner_texts() == ["S-MARTIN — Atelier Martin"]
    offered.first.click()

    _choose_article(page, 0, "PRISE")
    assert page.input_value("#lines-0-label") == "Prise 16 A encastrée"
    assert page.input_value("#lines-0-unit_price") == "1234,5"
    _choose_article(page, 1, "MO-ELEC")  # no sale price: 32 × 1.35 × 1.10 = 47.52
    assert page.input_value("#lines-1-unit_price") == "47,52"
    assert page.input_value("#lines-1-kind") == "labour"
    assert page.eval_on_selector("#lines-1-unit", "s => s.options[s.selectedIndex].text") == "H — Heure"
    assert "règle de tarification" in page.inner_text("#lines-1 .line-note")
    page.fill("#lines-1-label", "Heure électricien (mise aux normes)")  # still the user's to change
    page.fill("#lines-1-quantity", "1,5")
    # 1 234,50 at 20 % = 246,90; 71,28 at 10 % = 7,13
    assert _text(page, "#lines-1 .line-amount") == "71,28"
    assert _text(page, "#total-excl-vat") == "1 305,78 €"
    assert _text(page, "tr.total-vat[data-rate='10.00']") == "TVA 10 % 7,13 €"
    assert _text(page, "tr.total-vat[data-rate='20.00']") == "TVA 20 % 246,90 €"
    assert _text(page, "#total-incl-vat") == "1 559,81 €"
    page.click("#lines-1 .line-up")  # the labour line first
    screenshot("invoice-grid")
    with page.expect_navigation():
        page.click("form.admin-form input[type=submit]")

    with app.app_context():
        invoice = db.session.query(Invoice).one()
        assert (invoice.total_excl_vat, invoice.total_vat, invoice.total_incl_vat) == (
            D("1305.78"), D("254.03"), D("1559.81"))
        assert [line.label for line in invoice.lines] == ["Heure électricien (mise aux normes)", "Prise 16 A encastrée"]
        assert invoice.site.code == "S-MARTIN"
        invoice_id = invoice.id
    page.goto(f"/admin/invoices/details/?id={invoice_id}")
    assert "1 559,81" in SPACES.sub(" ", page.inner_text("table"))

    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    with page.expect_navigation():
        page.click("#validate-invoice")
    assert "jamais" in asked[0]
    screenshot("invoice-validated")
    assert "FA000057" in page.inner_text("body")
    assert page.locator("#edit-invoice").count() == 0
    page.goto("/admin/invoices/")
    assert page.locator(f"a[href*='edit/?id={invoice_id}']").count() == 0
    assert page.locator(f"form[action$='/delete/'] input[name=id][value='{invoice_id}']").count() == 0
