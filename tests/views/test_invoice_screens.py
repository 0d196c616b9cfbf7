"""Invoice screens: drafts with lines, validation action and button, read-only once validated, print."""
from datetime import date, timedelta
from decimal import Decimal as D

import pytest

from core.extensions import db
from models.invoices import Invoice
from tests.rules.invoice_factory import draft_invoice, invoice_setup


@pytest.fixture
def acme(app, tenants):
    with app.app_context():
        setup = invoice_setup(tenants["ACME"])
        db.session.commit()
        return setup


def _invoice(app, invoice_id):
    with app.app_context():
        return db.session.get(Invoice, invoice_id)


def _new_draft(app, tenants, setup, **kwargs):
    with app.app_context():
        invoice = draft_invoice(tenants["ACME"], setup, **kwargs)
        db.session.commit()
        return invoice.id


def test_create_a_draft_with_lines_computes_totals(app, browser, tenants, acme):
    b = browser("backoffice@acme.test")
    response = b.post("/admin/invoices/new/", {
        "invoice_date": date.today().isoformat(), "client": str(acme["client"]),
        "memo": "Merci de votre confiance", "internal_note": "client difficile",
        "lines-0-position": "1", "lines-0-label": "Pose prise", "lines-0-kind": "labour",
        "lines-0-quantity": "2", "lines-0-unit_price": "45.50", "lines-0-vat_rate": str(acme["vat20"]),
    })
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    with app.app_context():
        invoice = db.session.query(Invoice).one()
        assert invoice.state == "draft" and invoice.number is None
        assert (invoice.total_excl_vat, invoice.total_vat, invoice.total_incl_vat) == (D("91.00"), D("18.20"), D("109.20"))
        printed = b.get(f"/admin/invoices/print/?id={invoice.id}").get_data(as_text=True)
    assert "Merci de votre confiance" in printed and "client difficile" not in printed


def test_validate_action_numbers_in_order_and_locks_the_invoice(app, browser, tenants, acme):
    first, second = (_new_draft(app, tenants, acme) for _ in range(2))
    b = browser("backoffice@acme.test")
    response = b.post("/admin/invoices/action/", {"action": "validate", "rowid": [str(second), str(first)]})
    assert response.status_code == 302
    assert (_invoice(app, first).number, _invoice(app, second).number) == ("FA00001", "FA00002")
    edit = b.get(f"/admin/invoices/edit/?id={first}")
    assert edit.status_code == 302 and "details" in edit.headers["Location"]
    b.post("/admin/invoices/delete/", {"id": str(first)})
    assert _invoice(app, first) is not None


def test_validate_button_refuses_an_earlier_date_with_a_message(app, browser, tenants, acme):
    recent = _new_draft(app, tenants, acme)
    older = _new_draft(app, tenants, acme, invoice_date=date.today() - timedelta(days=5))
    b = browser("consultant@acme.test")
    b.post("/admin/invoices/validate/", {"id": str(recent)})
    page = b.post("/admin/invoices/validate/", {"id": str(older)}, follow_redirects=True).get_data(as_text=True)
    assert _invoice(app, older).state == "draft"
    assert "alert-danger" in page or "alert-error" in page


def test_zero_total_needs_the_confirmation_box(app, browser, tenants, acme):
    invoice_id = _new_draft(app, tenants, acme, lines=[(D("1"), D("0"), "vat20")])
    b = browser("backoffice@acme.test")
    b.post("/admin/invoices/validate/", {"id": str(invoice_id)})
    assert _invoice(app, invoice_id).state == "draft"
    b.post("/admin/invoices/validate/", {"id": str(invoice_id), "confirm_zero_total": "1"})
    assert _invoice(app, invoice_id).number == "FA00001"


def test_viewer_cannot_validate_and_other_tenant_gets_404(app, browser, tenants, acme):
    invoice_id = _new_draft(app, tenants, acme)
    assert browser("viewer@acme.test").post("/admin/invoices/validate/", {"id": str(invoice_id)}).status_code == 403
    other = browser("backoffice@beta.test")
    assert other.post("/admin/invoices/validate/", {"id": str(invoice_id)}).status_code == 404
    assert other.get(f"/admin/invoices/print/?id={invoice_id}").status_code == 404
    assert _invoice(app, invoice_id).state == "draft"


def test_price_simulator_shows_every_step(app, browser, tenants):
    from models import ProductNature
    from models.master_data import Article
    with app.app_context():
        nature = ProductNature(tenant_id=tenants["ACME"], code="4MO", label="Main-d'œuvre")
        db.session.add(nature)
        db.session.flush()
        db.session.add(Article(tenant_id=tenants["ACME"], code="MO-ELEC", label="Heure électricien",
                               nature_id=nature.id, net_purchase_price=D("32.50")))
        db.session.commit()
    b = browser("consultant@acme.test")
    page = b.get("/admin/price-simulator/?article=MO-ELEC&quantity=2").get_data(as_text=True)
    # coefficients 1 by default; every number in the French format
    assert "simulator-steps" in page and "32,50" in page and "65,00" in page and "32,50 × 1,00 × 1,00" in page
    assert "1.00" not in page and "65.00" not in page
    assert "is-invalid" in b.get("/admin/price-simulator/?article=NOPE&quantity=1").get_data(as_text=True)
    assert browser("backoffice@acme.test").get("/admin/price-simulator/").status_code == 403


def test_attachments_are_kept_and_served_to_the_tenant_only(app, browser, tenants, acme):
    import io
    invoice_id = _new_draft(app, tenants, acme)
    b = browser("backoffice@acme.test")
    response = b.post("/admin/invoices/attachments/", {"id": str(invoice_id),
                                                      "file": (io.BytesIO(b"%PDF-1.4 rapport"), "rapport.pdf")},
                      content_type="multipart/form-data")
    assert response.status_code == 302
    page = b.get(f"/admin/invoices/details/?id={invoice_id}").get_data(as_text=True)
    assert "rapport.pdf" in page
    with app.app_context():
        attachment_id = db.session.get(Invoice, invoice_id).attachments[0].id
    download = b.get(f"/admin/invoices/attachments/{attachment_id}/")
    assert download.status_code == 200 and download.data == b"%PDF-1.4 rapport"
    assert browser("backoffice@beta.test").get(f"/admin/invoices/attachments/{attachment_id}/").status_code == 404


def test_a_draft_can_be_cancelled_not_a_validated_invoice(app, browser, tenants, acme):
    draft, validated = _new_draft(app, tenants, acme), _new_draft(app, tenants, acme)
    b = browser("backoffice@acme.test")
    b.post("/admin/invoices/validate/", {"id": str(validated)})
    b.post("/admin/invoices/cancel/", {"id": str(draft)})
    b.post("/admin/invoices/cancel/", {"id": str(validated)})
    assert _invoice(app, draft).state == "cancelled" and _invoice(app, draft).number is None
    assert _invoice(app, validated).state == "validated"


def test_invoices_are_not_loaded_from_a_spreadsheet(browser, tenants, acme):
    b = browser("backoffice@acme.test")
    assert b.get("/admin/invoices/import/").status_code == 403
    assert 'id="import-link"' not in b.get("/admin/invoices/").get_data(as_text=True)
