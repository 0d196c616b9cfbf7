"""Job-site synthesis: figures per job site with payments, filters (client, sector,
period), aggregate SQL (no query per job site), the SVG chart, the XLSX export."""
import io
from datetime import date
from pathlib import Path
from decimal import Decimal as D

import openpyxl
import pytest
from sqlalchemy import event

from core.extensions import db
from models import JobSite, Payment
from rules.synthesis import SynthesisFilters, job_site_synthesis, totals
from tests.rules.payment_factory import payment_invoices

URL = "/admin/job-site-synthesis/"
FRENCH_CATALOGUE = Path(__file__).resolve().parents[2] / "translations" / "fr" / "LC_MESSAGES" / "messages.po"


@pytest.fixture
def invoices(app, tenants):
    with app.app_context():
        ids = payment_invoices(tenants["ACME"])
        tenant_id = tenants["ACME"]
        db.session.add_all([
            Payment(tenant_id=tenant_id, invoice_id=ids["FA000001"], payment_date=date(2026, 11, 5),
                    amount=D("250.40")),
            Payment(tenant_id=tenant_id, invoice_id=ids["FA000002"], payment_date=date(2026, 11, 9),
                    amount=D("18.00")),
            Payment(tenant_id=tenant_id, invoice_id=ids["FA000003"], payment_date=date(2026, 10, 20),
                    amount=D("600.00")),
            JobSite(tenant_id=tenant_id, code="CH3", name="<script>alert(1)</script>", client_id=ids["client"]),
        ])
        db.session.commit()
        return ids


def by_code(rows):
    return {row.code: row for row in rows}


def test_figures_per_job_site(app, tenants, invoices):
    with app.app_context():
        rows = by_code(job_site_synthesis(tenants["ACME"]))
    ch1, ch2, ch3 = rows["CH1"], rows["CH2"], rows["CH3"]
    assert (ch1.invoice_count, ch1.invoiced_excl_vat, ch1.invoiced_incl_vat, ch1.paid, ch1.outstanding,
            ch1.last_payment_date) == (2, D("1307.00"), D("1568.40"), D("268.40"), D("1300.00"), date(2026, 11, 9))
    assert (ch2.invoice_count, ch2.invoiced_incl_vat, ch2.paid, ch2.outstanding) == (
        1, D("600.00"), D("600.00"), D("0.00"))
    assert (ch3.invoice_count, ch3.paid, ch3.last_payment_date) == (0, D("0.00"), None)  # the draft does not count
    assert totals(list(rows.values())).outstanding == D("1300.00")


def test_filters_client_sector_period(app, tenants, invoices):
    with app.app_context():
        tenant_id = tenants["ACME"]
        by_client = job_site_synthesis(tenant_id, SynthesisFilters(client_id=invoices["other_client"]))
        assert set(by_code(by_client)) == {"CH2"}
        assert set(by_code(job_site_synthesis(tenant_id, SynthesisFilters(sector_id=invoices["NORD"])))) == {"CH1"}
        after = by_code(job_site_synthesis(tenant_id, SynthesisFilters(date_from=date(2026, 10, 2))))
        assert after["CH1"].invoice_count == 0 and after["CH1"].paid == 0  # invoices of 01/10 are out
        inside = by_code(job_site_synthesis(tenant_id, SynthesisFilters(date_from=date(2026, 10, 1),
                                                                         date_to=date(2026, 10, 1))))
        assert inside["CH1"].invoice_count == 2
        only = job_site_synthesis(tenant_id, SynthesisFilters(with_invoices_only=True))
        assert {row.code for row in only} == {"CH1", "CH2"}
        assert job_site_synthesis(tenants["BETA"]) == []


def test_one_statement_whatever_the_number_of_job_sites(app, tenants, invoices):
    with app.app_context():
        for i in range(30):
            db.session.add(JobSite(tenant_id=tenants["ACME"], code=f"X{i:02d}", name="x", client_id=invoices["client"]))
        db.session.commit()
        statements = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            rows = job_site_synthesis(tenants["ACME"])
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        assert len(rows) == 33 and len(statements) == 1 and "GROUP BY" in statements[0]


def test_screen_chart_filters_and_escaping(app, browser, tenants, invoices):
    b = browser("viewer@acme.test")
    page = b.get(URL).get_data(as_text=True)
    assert 'id="synthesis-chart"' in page and "<svg" in page and 'data-job-site="CH1"' in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert "http://" not in page.split('id="synthesis-chart"')[1].split("</figure>")[0].replace(
        "http://www.w3.org/2000/svg", "")  # nothing fetched from outside
    filtered = b.get(URL + "?client=c002").get_data(as_text=True)
    assert 'data-job-site="CH2"' in filtered and 'data-job-site="CH1"' not in filtered
    by_sector = b.get(URL + f"?sector={invoices['NORD']}").get_data(as_text=True)
    assert '<tr data-job-site="CH1"' in by_sector and '<tr data-job-site="CH2"' not in by_sector
    unknown = b.get(URL + "?client=NOPE&date_from=bad")
    assert unknown.status_code == 200 and '<tr data-job-site=' not in unknown.get_data(as_text=True)


def test_export_with_french_headers_and_numbers(app, browser, tenants, invoices):
    b = browser("viewer@acme.test")
    response = b.get(URL + "export/xlsx/?sector=" + str(invoices["NORD"]))
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).worksheets[0]
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    if FRENCH_CATALOGUE.exists():
        assert rows[0] == ["Chantier", "Nom du chantier", "Client", "Secteur", "Factures validées", "Facturé HT",
                           "Facturé TTC", "Réglé", "Reste dû", "Dernier règlement"]
    else:  # a checkout without the French catalogue speaks English
        assert rows[0][1:3] == ["Job site name", "Client"]
    assert rows[1][:9] == ["CH1", "Chantier un", "C001", "NORD", 2, 1307, 1568.4, 268.4, 1300]
    assert rows[1][9].date() == date(2026, 11, 9) and len(rows) == 2


def test_export_command(app, tenants, invoices, tmp_path):
    output = tmp_path / "synthese.xlsx"
    result = app.test_cli_runner().invoke(args=["export", "job-site-synthesis", "--tenant", "ACME", "-o", str(output)])
    assert result.exit_code == 0, result.output
    sheet = openpyxl.load_workbook(output).worksheets[0]
    assert sheet.max_row == 4


def test_period_typed_jj_mm_aaaa_with_the_french_picker(app, browser, tenants, invoices):
    """ui.md: no browser ``type="date"`` (its format follows the OS, not the page): the
    period is typed JJ/MM/AAAA (ISO still read) and shown back JJ/MM/AAAA."""
    b = browser("viewer@acme.test")
    page = b.get(URL).get_data(as_text=True)
    assert 'type="date"' not in page and 'data-role="datepicker"' in page and 'data-date-format="DD/MM/YYYY"' in page
    for typed in ("02/10/2026", "2026-10-02"):
        after = b.get(URL + f"?date_from={typed}").get_data(as_text=True)
        assert 'value="02/10/2026"' in after, typed
        ch1 = after.split('<tr data-job-site="CH1"')[1].split("</tr>")[0]
        assert ">0<" in ch1.replace(" ", ""), typed  # the invoices of 01/10/2026 are out of the period
    wrong = b.get(URL + "?date_from=31/02/2026").get_data(as_text=True)
    assert 'value="31/02/2026"' in wrong and "alert-warning" in wrong
