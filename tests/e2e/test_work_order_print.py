"""A work order posted to the webhook becomes a draft invoice; the back office opens it,
downloads the work-order PDF attached to it and prints it: the memo is printed, the
internal note never."""
import requests

from core.extensions import db
from models import Invoice
from tests.e2e.test_operation_codes import log_in
from tests.exchange.work_orders_env import TOKEN, body_of, sample, set_up_dossier


def test_the_internal_note_never_appears_on_the_printed_invoice(app, tenants, page, live_server, screenshot):
    with app.app_context():
        set_up_dossier(tenants["ACME"])
    response = requests.post(f"{live_server.url}/hooks/work-orders/ACME/WO", data=body_of(sample()),
                             headers={"X-Api-Key": TOKEN, "Content-Type": "application/json"}, timeout=30)
    assert response.status_code == 201, response.text
    invoice_id = response.json()["invoice_id"]
    with app.app_context():
        note = db.session.get(Invoice, invoice_id).internal_note
    assert note == "Client difficile à joindre, passer par le gérant."

    log_in(page, "backoffice@acme.test")
    page.goto(f"/admin/invoices/details/?id={invoice_id}")
    screenshot("draft-from-work-order")
    assert "BT-2026-0457" in page.inner_text("body")
    with page.expect_download() as download:
        page.click("#invoice-attachments a")
    assert download.value.suggested_filename == "BT-2026-0457.pdf"
    with open(download.value.path(), "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"

    with page.context.expect_page() as printed_page:
        page.click("text=Imprimer")
    printed = printed_page.value
    printed.wait_for_load_state()
    text = printed.inner_text("body")
    assert "Entretien annuel pompe à chaleur, filtres remplacés." in text
    assert "Client difficile" not in text and "gérant" not in printed.content()
    assert "Boulangerie Dupré" in text
    printed.screenshot(path=str(screenshot("details-before-print").parent / "printed.png"), full_page=True)
