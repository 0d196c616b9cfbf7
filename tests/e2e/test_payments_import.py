"""A back-office user imports the accounting's payments file in a real browser: the
control screen shows red and yellow rows, an alert's explanation opens on click (and is
the badge's hover title), *Importer* writes the batch, and the job-site synthesis shows
the payments.

Selectors use URLs, ids and data attributes, never the UI language (French by default)."""
from datetime import date

import pytest

from core.extensions import db
from models import Payment
from tests.e2e.test_operation_codes import log_in
from tests.rules.payment_factory import payment_invoices, xlsx_file

IMPORT_URL = "/admin/payments/import/"
SYNTHESIS_URL = "/admin/job-site-synthesis/"


@pytest.fixture
def invoices(app, tenants):
    with app.app_context():
        ids = payment_invoices(tenants["ACME"])
        db.session.remove()
        return ids


def synthesis_cell(page, job_site: str, cell: str) -> str:
    return page.inner_text(f'#synthesis-table tr[data-job-site="{job_site}"] td.{cell}')


def digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit() or ch in ",.")


def test_backoffice_imports_payments_and_sees_the_synthesis_change(app, page, screenshot, invoices, tmp_path):
    path = tmp_path / "reglements.xlsx"
    path.write_bytes(xlsx_file([
        ["FA000001", date(2026, 11, 5), 250.4, "Virement", "C001", "BQ-1"],     # ok
        ["FA000002", "06/11/2026", "400,00", "Bitcoin", "", "BQ-2"],           # yellow: overpayment, method
        ["FA999999", date(2026, 11, 6), 10, "Carte", "", "BQ-3"],               # red: unknown invoice
        ["FA000003", date(2026, 11, 6), 10, "Carte", "C001", "BQ-4"],           # red: another client
    ]))
    log_in(page, "backoffice@acme.test")

    page.goto(SYNTHESIS_URL)
    assert digits(synthesis_cell(page, "CH1", "paid")) in ("0,00", "0.00")
    screenshot("synthesis-before")

    page.goto(IMPORT_URL)
    assert page.locator("#payment-template").get_attribute("href").endswith("/import/template/")
    page.set_input_files("#payment-upload input[type=file]", str(path))
    with page.expect_navigation():
        page.click("#payment-check")
    screenshot("control-screen")

    rows = page.locator("#payment-rows tbody tr")
    assert rows.count() == 4
    statuses = [rows.nth(i).get_attribute("data-status") for i in range(4)]
    assert statuses == ["ok", "warning", "blocking", "blocking"]
    assert "table-warning" in rows.nth(1).get_attribute("class")
    assert "table-danger" in rows.nth(2).get_attribute("class")
    assert page.inner_text("#count-ok").strip().startswith("1")
    assert page.inner_text("#count-warning").strip().startswith("1")
    assert page.inner_text("#count-blocking").strip().startswith("2")

    # An alert's explanation: the hover title of its badge, and a click opens it
    alert = page.locator('#payment-rows tr[data-row="4"] details[data-code="unknown_invoice"]')
    explanation = alert.locator(".payment-alert-text")
    assert not explanation.is_visible()
    assert "FA999999" in alert.locator("summary").get_attribute("title")
    alert.locator("summary").click()
    explanation.wait_for(state="visible")
    assert "FA999999" in explanation.inner_text()
    screenshot("explanation-open")

    page.check("#payment-only-alerts")  # the ok rows hide, the rows with an alert stay
    assert not rows.nth(0).is_visible() and rows.nth(1).is_visible() and rows.nth(3).is_visible()
    page.uncheck("#payment-only-alerts")
    assert rows.nth(0).is_visible()

    with page.expect_navigation():
        page.click("#payment-import")
    assert "/admin/payment-batches/details/" in page.url
    assert page.locator(".alert-success").count() == 1
    assert page.locator("#batch-payments tbody tr").count() == 2
    screenshot("batch")

    with app.app_context():
        assert sorted(p.accounting_reference for p in db.session.query(Payment)) == ["BQ-1", "BQ-2"]
        db.session.remove()

    page.goto(SYNTHESIS_URL)
    assert digits(synthesis_cell(page, "CH1", "paid")) in ("650,40", "650.40")
    assert page.locator('#synthesis-chart g[data-job-site="CH1"] rect.paid').count() == 1
    screenshot("synthesis-after")
