"""Payment screens: the control screen (sample file, every row with its alerts, counts),
the import of the rows without a red alert as one batch, the template's round trip,
unreadable files, escaping, roles, tenants, the batch list and its cancel, the list
export and the job-site synthesis."""
import io
import re
from datetime import date
from decimal import Decimal as D

import openpyxl
import pytest

from core.extensions import db
from models import AuditLogEntry, Invoice, Payment, PaymentImportBatch
from tests.rules.payment_factory import Text, payment_invoices, sample_path, xlsx_file

IMPORT_URL = "/admin/payments/import/"


@pytest.fixture
def invoices(app, tenants):
    with app.app_context():
        return payment_invoices(tenants["ACME"])


def upload(b, data, filename="reglements.xlsx"):
    return b.post(IMPORT_URL, {"file": (io.BytesIO(data), filename)}, content_type="multipart/form-data")


def rows_by_status(page: str) -> dict[int, str]:
    return {int(n): s for n, s in re.findall(r'<tr class="[^"]*" data-row="(\d+)" data-status="(\w+)"', page)}


def codes_by_row(page: str) -> dict[int, list[str]]:
    result = {}
    for number, body in re.findall(r'data-row="(\d+)"[^>]*>(.*?)</tr>', page, re.S):
        result[int(number)] = re.findall(r'data-code="(\w+)"', body)
    return result


def compact(page: str) -> str:
    """The page without the spaces that group digits (1 000,00 → 1000,00)."""
    return re.sub(r"(?<=\d)[ \u00a0\u202f](?=\d)", "", page)


def token_of(page: str) -> str:
    return page.split('name="upload" value="')[1].split('"')[0]


def payments(app, tenant_id):
    with app.app_context():
        return [(p.invoice.number, p.payment_date, p.amount, p.method, p.accounting_reference, p.batch_id)
                for p in db.session.query(Payment).filter_by(tenant_id=tenant_id).order_by(Payment.id)]


def test_the_sample_file_through_the_control_screen_then_import(app, browser, tenants, invoices):
    b = browser("backoffice@acme.test")
    with open(sample_path(), "rb") as handle:
        response = upload(b, handle.read(), "reglements_exemple.xlsx")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert rows_by_status(page) == {2: "ok", 3: "ok", 4: "blocking", 5: "blocking", 6: "blocking"}
    assert codes_by_row(page) == {2: [], 3: [], 4: ["unknown_invoice"], 5: ["duplicate"],
                                  6: ["bad_date", "bad_amount"]}
    assert re.search(r'id="count-ok">\s*2\b', page) and re.search(r'id="count-warning">\s*0\b', page)
    assert re.search(r'id="count-blocking">\s*3\b', page)
    assert 'title="' in page and "FA999999" in page  # the explanation, on hover (title) and click (details)
    assert payments(app, tenants["ACME"]) == []  # the control screen writes nothing

    response = b.post("/admin/payments/import/confirm/", {"upload": token_of(page)})
    assert response.status_code == 302 and "/admin/payment-batches/details/" in response.headers["Location"]
    with app.app_context():
        batch = db.session.query(PaymentImportBatch).one()
        assert (batch.row_count, batch.imported_count, batch.warning_count, batch.blocking_count) == (5, 2, 0, 3)
        assert batch.user_email == "backoffice@acme.test" and batch.filename == "reglements_exemple.xlsx"
        batch_id = batch.id
    assert payments(app, tenants["ACME"]) == [
        ("FA000001", date(2026, 11, 5), D("1250.40"), "transfer", "BQ-2026-1101", batch_id),
        ("FA000002", date(2026, 11, 7), D("318.00"), "cheque", "BQ-2026-1102", batch_id)]
    # the token is used up
    assert b.post("/admin/payments/import/confirm/", {"upload": token_of(page)}).status_code == 404
    # the same file again: the good rows are duplicates now, nothing to import
    with open(sample_path(), "rb") as handle:
        again = upload(b, handle.read()).get_data(as_text=True)
    assert codes_by_row(again)[2] == ["duplicate"] and 'id="payment-import"' not in again


def test_yellow_rows_are_imported_red_rows_are_not(app, browser, tenants, invoices):
    b = browser("consultant@acme.test")
    data = xlsx_file([["FA000001", date(2026, 11, 5), 2000, "Bitcoin", "", "R1"],   # overpayment + method
                      ["FA000002", date(2026, 9, 1), 10, "virement", "C001", "R2"],  # before the invoice
                      ["FA000003", date(2026, 11, 5), 10, "", "C001", "R3"]])       # client mismatch
    page = upload(b, data).get_data(as_text=True)
    assert rows_by_status(page) == {2: "warning", 3: "warning", 4: "blocking"}
    assert codes_by_row(page) == {2: ["overpayment", "unknown_method"], 3: ["date_before_invoice"],
                                  4: ["client_mismatch"]}
    assert b.post("/admin/payments/import/confirm/", {"upload": token_of(page)}).status_code == 302
    assert [(p[0], p[3]) for p in payments(app, tenants["ACME"])] == [("FA000001", "other"), ("FA000002", "transfer")]
    with app.app_context():
        invoice = db.session.get(Invoice, invoices["FA000001"])
        assert invoice.outstanding_amount == D("-749.60")


def test_the_template_round_trip(app, browser, tenants, invoices):
    b = browser("backoffice@acme.test")
    response = b.get(IMPORT_URL + "template/")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    workbook = openpyxl.load_workbook(io.BytesIO(response.data))
    assert len(workbook.worksheets) == 1
    sheet = workbook.worksheets[0]
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert rows[0] == ["Référence facture", "Date règlement", "Montant", "Mode de règlement", "Code client",
                       "Référence comptable"]
    assert len(rows) == 2 and rows[1][0] == "FA000001" and rows[1][2] == 1250.4
    # fill it in: the example row replaced by real payments, one typed as text
    sheet.delete_rows(2)
    sheet.append(["FA000002", date(2026, 11, 2), 100, "Chèque", "C001", "REF-1"])
    sheet.append(["FA000003", "03/11/2026", "50,5", "espèces", "C002", "REF-2"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    page = upload(b, buffer.getvalue()).get_data(as_text=True)
    assert 'id="payment-file-error"' not in page
    assert rows_by_status(page) == {2: "ok", 3: "ok"}


@pytest.mark.parametrize("make, filename", [
    (lambda: b"Date;Montant\n1;2\n", "reglements.csv"),
    (lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 1000, "chiffre.xlsx"),
    (lambda: xlsx_file([["FA000001", 10]], headers=["Facture ?", "Somme"]), "sans_entete.xlsx"),
    (lambda: b"PK\x03\x04" + b"\x00" * 100, "tronque.xlsx"),
    (lambda: b"PK" + b"\x00" * (50 * 1024 * 1024 + 10), "enorme.xlsx"),
])
def test_unreadable_files_get_one_clear_message_and_nothing_is_written(app, browser, tenants, invoices, make,
                                                                       filename):
    b = browser("backoffice@acme.test")
    response = upload(b, make(), filename)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert page.count('id="payment-file-error"') == 1 and 'id="payment-rows"' not in page
    assert payments(app, tenants["ACME"]) == []
    with app.app_context():
        assert db.session.query(PaymentImportBatch).count() == 0


def test_formula_cells_and_dates_as_text_and_numbers(app, browser, tenants, invoices):
    b = browser("backoffice@acme.test")
    data = xlsx_file([["FA000001", "=TODAY()", 10, "", "", "F1"],
                      ["FA000001", "02/11/2026", "=5*2", "", "", "F2"],
                      ["FA000002", "2026-11-03", "12,50", "", "", "F3"],
                      ["FA000003", 46330, 13, "", "", "F4"]])  # 46330 = 04/11/2026 as an Excel serial number
    page = upload(b, data).get_data(as_text=True)
    assert codes_by_row(page) == {2: ["bad_date"], 3: ["bad_amount"], 4: [], 5: []}
    assert b.post("/admin/payments/import/confirm/", {"upload": token_of(page)}).status_code == 302
    assert [(p[0], p[1], p[2]) for p in payments(app, tenants["ACME"])] == [
        ("FA000002", date(2026, 11, 3), D("12.50")), ("FA000003", date(2026, 11, 4), D("13.00"))]


def test_script_in_cells_is_escaped_and_exports_keep_text(app, browser, tenants, invoices):
    b = browser("backoffice@acme.test")
    data = xlsx_file([["<script>alert(1)</script>", date(2026, 11, 5), 10, "<b>x</b>", "", "R0"],
                      ["FA000001", date(2026, 11, 5), 10, "", "", Text("=HYPERLINK(\"http://x\")")]])
    page = upload(b, data).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page and "<b>x</b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    b.post("/admin/payments/import/confirm/", {"upload": token_of(page)})
    listing = b.get("/admin/payments/").get_data(as_text=True)
    assert "=HYPERLINK(" in listing.replace("&#34;", '"').replace("&quot;", '"')
    export = b.get("/admin/payments/export/xlsx/")
    assert export.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(export.data)).worksheets[0]
    cells = [[cell for cell in row] for row in sheet.iter_rows()]
    reference = cells[1][6]
    assert reference.value == '=HYPERLINK("http://x")' and reference.data_type == "s"
    assert cells[1][4].value == 10 and cells[1][4].data_type == "n"  # amounts as numbers
    assert cells[1][0].value == "FA000001"


def test_viewers_read_but_cannot_import(app, browser, tenants, invoices):
    b = browser("viewer@acme.test")
    assert b.get("/admin/payments/").status_code == 200
    assert b.get("/admin/payment-batches/").status_code == 200
    assert b.get("/admin/job-site-synthesis/").status_code == 200
    assert b.get(IMPORT_URL).status_code == 403
    with open(sample_path(), "rb") as handle:
        assert upload(b, handle.read()).status_code == 403
    assert b.post("/admin/payments/import/confirm/", {"upload": "x"}).status_code == 403
    assert b.post("/admin/payment-batches/cancel/", {"id": "1", "confirm": "1"}).status_code == 403
    assert 'id="import-link"' not in b.get("/admin/payments/").get_data(as_text=True)
    for url in ("/admin/payments/new/", "/admin/payments/edit/?id=1", "/admin/payment-batches/new/"):
        assert b.get(url).status_code == 403
    assert f'href="{IMPORT_URL}"' not in b.get("/admin/payments/").get_data(as_text=True)  # nor in the menu
    writer = browser("backoffice@acme.test")
    assert 'id="import-link"' in writer.get("/admin/payments/").get_data(as_text=True)
    assert f'href="{IMPORT_URL}"' in writer.get("/admin/").get_data(as_text=True)
    assert writer.get(IMPORT_URL).status_code == 200


def test_pages_require_login(app, browser, tenants):
    b = browser()
    for url in ("/admin/payments/", IMPORT_URL, IMPORT_URL + "template/", "/admin/payment-batches/",
                "/admin/job-site-synthesis/", "/admin/job-site-synthesis/export/xlsx/"):
        response = b.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url


def test_csrf_is_required_to_upload(app, browser, tenants, invoices):
    b = browser("backoffice@acme.test")
    response = b.client.post(IMPORT_URL, data={"file": (io.BytesIO(b"x"), "a.xlsx")},
                             content_type="multipart/form-data")
    assert response.status_code == 400


def _import(b, rows):
    page = upload(b, xlsx_file(rows)).get_data(as_text=True)
    response = b.post("/admin/payments/import/confirm/", {"upload": token_of(page)})
    assert response.status_code == 302
    return int(response.headers["Location"].split("id=")[1])


def test_batch_list_export_and_cancel(app, browser, tenants, invoices):
    b = browser("backoffice@acme.test")
    first = _import(b, [["FA000001", date(2026, 11, 5), 100, "", "", "A1"], ["FA000002", date(2026, 11, 5), 50]])
    second = _import(b, [["FA000003", date(2026, 11, 6), 20]])
    listing = b.get("/admin/payment-batches/").get_data(as_text=True)
    assert "reglements.xlsx" in listing
    export = b.get("/admin/payment-batches/export/xlsx/")
    sheet = openpyxl.load_workbook(io.BytesIO(export.data)).worksheets[0]
    assert sheet.max_row == 3

    details = b.get(f"/admin/payment-batches/details/?id={first}").get_data(as_text=True)
    assert 'id="batch-cancel"' in details and 'id="batch-payments"' in details
    # without the confirmation, nothing happens
    b.post("/admin/payment-batches/cancel/", {"id": str(first)})
    assert len(payments(app, tenants["ACME"])) == 3
    response = b.post("/admin/payment-batches/cancel/", {"id": str(first), "confirm": "1"})
    assert response.status_code == 302
    assert [p[5] for p in payments(app, tenants["ACME"])] == [second]
    with app.app_context():
        assert db.session.get(PaymentImportBatch, first).cancelled_by == "backoffice@acme.test"
        deleted = db.session.query(AuditLogEntry).filter_by(table_name="payments", action="delete",
                                                            user_email="backoffice@acme.test").count()
        assert deleted >= 2
    details = b.get(f"/admin/payment-batches/details/?id={first}").get_data(as_text=True)
    assert 'id="batch-cancel"' not in details and 'id="batch-cancelled"' in details
    # the list action cancels too
    response = b.post("/admin/payment-batches/action/", {"action": "cancel", "rowid": [str(second)]})
    assert response.status_code == 302 and payments(app, tenants["ACME"]) == []


def test_other_tenants_rows_are_404_and_not_listed(app, browser, tenants, invoices):
    b = browser("backoffice@acme.test")
    batch_id = _import(b, [["FA000001", date(2026, 11, 5), 100, "", "", "SECRET-REF"]])
    with app.app_context():
        payment_id = db.session.query(Payment.id).scalar()
    other = browser("backoffice@beta.test")
    assert other.get(f"/admin/payment-batches/details/?id={batch_id}").status_code == 404
    assert other.get(f"/admin/payments/details/?id={payment_id}").status_code == 404
    assert other.post("/admin/payment-batches/cancel/", {"id": str(batch_id), "confirm": "1"}).status_code == 404
    assert "SECRET-REF" not in other.get("/admin/payments/").get_data(as_text=True)
    assert "SECRET-REF" not in other.get("/admin/payments/export/xlsx/").data.decode("latin-1")
    assert "CH1" not in other.get("/admin/job-site-synthesis/").get_data(as_text=True)
    # ACME's invoices are unknown in BETA's import
    page = upload(other, xlsx_file([["FA000001", date(2026, 11, 5), 100]])).get_data(as_text=True)
    assert codes_by_row(page) == {2: ["unknown_invoice"]}
    assert len(payments(app, tenants["ACME"])) == 1


def test_upload_token_of_another_user_or_screen_is_refused(app, browser, tenants, invoices):
    b = browser("backoffice@acme.test")
    page = upload(b, xlsx_file([["FA000001", date(2026, 11, 5), 100]])).get_data(as_text=True)
    other = browser("consultant@acme.test")
    assert other.post("/admin/payments/import/confirm/", {"upload": token_of(page)}).status_code == 404
    assert payments(app, tenants["ACME"]) == []


def test_invoice_outstanding_amount_in_details(app, browser, tenants, invoices):
    b = browser("backoffice@acme.test")
    _import(b, [["FA000001", date(2026, 11, 5), "250,40"]])
    with app.app_context():
        assert db.session.get(Invoice, invoices["FA000001"]).outstanding_amount == D("1000.00")
    details = compact(b.get(f"/admin/invoices/details/?id={invoices['FA000001']}").get_data(as_text=True))
    assert "1000.00" in details or "1000,00" in details
    sheet = openpyxl.load_workbook(io.BytesIO(b.get("/admin/invoices/export/xlsx/").data)).worksheets[0]
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    column = next(i for i, header in enumerate(rows[0]) if header in ("Outstanding amount", "Reste dû"))
    assert {row[0]: row[column] for row in rows[1:]}["FA000001"] == 1000


def test_invoice_list_shows_the_outstanding_amount(app, browser, tenants, invoices):
    b = browser("backoffice@acme.test")
    _import(b, [["FA000001", date(2026, 11, 5), "250,40"]])
    response = b.get("/admin/invoices/")
    listing = compact(response.get_data(as_text=True))
    assert "outstanding_amount" in listing and ("1000.00" in listing or "1000,00" in listing)


def test_payments_imported_meanwhile_by_someone_else(app, browser, tenants, invoices, monkeypatch):
    """The check runs again on *Import*; if the same payments are written at that very moment
    by another import, the database's unique reference refuses them: nothing is written."""
    b = browser("backoffice@acme.test")
    page = upload(b, xlsx_file([["FA000001", date(2026, 11, 5), 100, "", "", "RACE-1"],
                                ["FA000002", date(2026, 11, 5), 50, "", "", "RACE-2"]])).get_data(as_text=True)
    with app.app_context():
        db.session.add(Payment(tenant_id=tenants["ACME"], invoice_id=invoices["FA000003"],
                               payment_date=date(2026, 11, 1), amount=D("1"), accounting_reference="RACE-2"))
        db.session.commit()
    import rules.payments
    monkeypatch.setattr(rules.payments, "_existing_references", lambda references, tenant_id: set())
    response = b.post("/admin/payments/import/confirm/", {"upload": token_of(page)})
    assert response.status_code == 302 and response.headers["Location"].endswith(IMPORT_URL)
    assert [p[4] for p in payments(app, tenants["ACME"])] == ["RACE-2"]
    with app.app_context():
        assert db.session.query(PaymentImportBatch).count() == 0


def test_the_payment_list_reads_its_rows_in_a_few_queries(app, browser, tenants, invoices):
    from sqlalchemy import event

    b = browser("viewer@acme.test")
    writer = browser("backoffice@acme.test")
    _import(writer, [["FA000001", date(2026, 11, day), 10 + day] for day in range(1, 21)]
            + [["FA000003", date(2026, 11, day), 10 + day] for day in range(1, 21)])
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", listener)
    try:
        page = b.get("/admin/payments/").get_data(as_text=True)
    finally:
        with app.app_context():
            event.remove(db.engine, "before_cursor_execute", listener)
    assert page.count('<td class="col-invoice">') == 40 and "CH2" in page
    assert len(statements) < 15, len(statements)
    for url in ("/admin/payments/?sort=0", "/admin/payments/?sort=0&desc=1", "/admin/payments/?search=R"):
        assert b.get(url).status_code == 200
