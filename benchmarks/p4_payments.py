"""P4 — the payment import control screen on a 20,000-row file.

Measured: ``POST /admin/payments/import/`` with the file through the Flask test
client, logged in as a back-office user, body read to the end: the file is read
(python-calamine), every row parsed and checked against the tenant's 20,000
validated invoices and 5,000 payments already imported (batched look-ups), the
upload kept for *Import*, and the page with every row and its alerts rendered.
Baseline: ``openpyxl`` read-only iteration of the same file (every cell value,
nothing else). Both are the best of N runs, run alternately. Target: ≤ 0.5×.
"""
import io
import os
import shutil
import tempfile
from datetime import date, timedelta
from decimal import Decimal

import openpyxl
import xlsxwriter

from benchmarks.harness import Figure, analyze, bench_app, best_of_pair, bulk_insert, create_tenant_user, \
    dialect_name, login, time_shares

ROWS = 20_000
INVOICES = 20_000
EXISTING_PAYMENTS = 5_000
TARGET = 0.5
EMAIL = "p4@bench.test"
HEADERS = ("Référence facture", "Date règlement", "Montant", "Mode de règlement", "Code client",
           "Référence comptable")
METHODS = ("Virement", "chèque", "Carte", "Espèces", "Prélèvement", "", "Bitcoin")
FIRST_DAY = date(2026, 1, 5)


def _invoice(i: int, client_id: int) -> dict:
    return {"number": f"FA{i + 1:06d}", "state": "validated", "invoice_date": FIRST_DAY + timedelta(days=i % 200),
            "client_id": client_id, "origin": "manual", "report_url": "", "memo": "", "internal_note": "",
            "total_excl_vat": Decimal("1000.00"), "total_vat": Decimal("200.00"), "total_incl_vat": Decimal("1200.00"),
            "sequence_number": i + 1}


def _payment(i: int, first_invoice_id: int) -> dict:
    return {"invoice_id": first_invoice_id + i, "payment_date": FIRST_DAY + timedelta(days=i % 200 + 10),
            "amount": Decimal("100.00"), "method": "transfer", "accounting_reference": f"OLD-{i:06d}"}


def write_file(path: str, rows: int = ROWS) -> None:
    """The accounting's file: mostly good rows, some typed as text (date, decimal comma),
    some unknown invoices, duplicates, overpayments and unknown methods."""
    workbook = xlsxwriter.Workbook(path, {"constant_memory": True, "strings_to_formulas": False,
                                         "strings_to_numbers": False})
    sheet = workbook.add_worksheet("Règlements")
    date_format = workbook.add_format({"num_format": "dd/mm/yyyy"})
    for col, header in enumerate(HEADERS):
        sheet.write_string(0, col, header)
    for i in range(rows):
        r = i + 1
        invoice = i % INVOICES + 1 if i % 50 else INVOICES + 1000 + i  # 2 % unknown invoices
        day = FIRST_DAY + timedelta(days=i % 200 + 20)
        sheet.write_string(r, 0, f"FA{invoice:06d}")
        if i % 10 == 3:
            sheet.write_string(r, 1, day.strftime("%d/%m/%Y"))
        else:
            sheet.write_datetime(r, 1, day, date_format)
        amount = Decimal(100 + i % 900) + Decimal(i % 100) / 100
        if i % 10 == 5:
            sheet.write_string(r, 2, str(amount).replace(".", ","))
        else:
            sheet.write_number(r, 2, float(amount))
        sheet.write_string(r, 3, METHODS[i % len(METHODS)])
        sheet.write_string(r, 4, "C1" if i % 97 else "C2")
        sheet.write_string(r, 5, f"BQ-{i:07d}" if i % 333 else "OLD-000001")
    workbook.close()


def read_with_openpyxl(path: str) -> int:
    """The baseline: every cell value of the sheet, openpyxl read-only."""
    workbook = openpyxl.load_workbook(path, read_only=True)
    count = 0
    for row in workbook.worksheets[0].iter_rows(values_only=True):
        count += len(row)
    workbook.close()
    return count


def _control_screen(client, data: bytes) -> int:
    response = client.post("/admin/payments/import/", data={
        "csrf_token": client.csrf_token, "file": (io.BytesIO(data), "reglements.xlsx")},
        content_type="multipart/form-data")
    if response.status_code != 200:
        raise RuntimeError(f"control screen: status {response.status_code}")
    body = response.get_data()
    if b'data-row="' not in body:
        raise RuntimeError("control screen: no row shown")
    return len(body)


def run(dataset_name=None, repeat: int = 3, rows: int = ROWS, report=print) -> dict:
    from core.extensions import db
    from models import Invoice, Payment
    from models.master_data import Client

    work_dir = tempfile.mkdtemp(prefix="passerelle-bench-p4-")
    path = os.path.join(work_dir, "reglements.xlsx")
    try:
        write_file(path, rows)
        with open(path, "rb") as handle:
            data = handle.read()
        with bench_app(push_context=False) as (app, _config):
            with app.app_context():
                database = dialect_name()
                tenant_id = create_tenant_user("BENCH", EMAIL, role="backoffice")
                clients = [Client(tenant_id=tenant_id, code=code, name=code) for code in ("C1", "C2")]
                db.session.add_all(clients)
                db.session.commit()
                client_id = clients[0].id
                bulk_insert(Invoice, tenant_id, lambda i: _invoice(i, client_id), 0, INVOICES)
                first_invoice_id = db.session.query(db.func.min(Invoice.id)).scalar()
                bulk_insert(Payment, tenant_id, lambda i: _payment(i, first_invoice_id), 0, EXISTING_PAYMENTS)
                analyze(["invoices", "payments"])
            # requests outside any app context: each one has its own, as in production
            client = login(app, EMAIL)
            page = client.get("/admin/payments/import/").get_data(as_text=True)
            client.csrf_token = page.split('name="csrf_token" value="')[1].split('"')[0]
            size = _control_screen(client, data)
            (measured, measured_median), (baseline, baseline_median) = best_of_pair(
                lambda: _control_screen(client, data), lambda: read_with_openpyxl(path), repeat)
            shares = time_shares(lambda: _control_screen(client, data))
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    figure = Figure("P4", "P4 payment control", TARGET, baseline, measured, rows, {
        "file_mb": round(len(data) / 1024 / 1024, 2), "page_mb": round(size / 1024 / 1024, 2),
        "baseline_median_s": round(baseline_median, 4), "measured_median_s": round(measured_median, 4),
        "database": database, "invoices": INVOICES, "existing_payments": EXISTING_PAYMENTS,
        "time_shares": shares,
    })
    report(figure.line())
    return figure.as_dict()
