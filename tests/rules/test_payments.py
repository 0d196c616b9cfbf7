"""Payment import rules: parsing of cells, one test per alert code, several alerts on a
row, batched look-ups, import of the rows without red alert, batch cancel, outstanding."""
from dataclasses import astuple
from datetime import date, datetime
from decimal import Decimal as D

import pytest
from sqlalchemy import event

from core.extensions import db
from models import AuditLogEntry, Invoice, Payment, PaymentImportBatch
from rules.payments import (
    ALERT_LABELS, ALERT_LEVELS, PaymentError, cancel_batch, check_rows, count_statuses, find_invoices,
    import_rows, map_headers, outstanding_amounts, parse_amount, parse_date, parse_method, parse_row,
    parse_rows,
)
from spreadsheets.payments_file import check_payment_file, read_payment_file
from spreadsheets.reader import UnreadableFile
from tests.rules.payment_factory import HEADERS, payment_invoices, sample_path, xlsx_file

TODAY = date(2026, 11, 23)
MAPPING = {name: index for index, name in enumerate(
    ("invoice_reference", "payment_date", "amount", "method", "client_code", "accounting_reference"))}


@pytest.fixture
def invoices(app_ctx, tenants):
    return payment_invoices(tenants["ACME"])


def rows_of(*cells_list, start=2):
    return [parse_row(start + i, list(cells), MAPPING) for i, cells in enumerate(cells_list)]


def check(tenant_id, *cells_list, today=TODAY):
    return check_rows(rows_of(*cells_list), tenant_id, today)


def codes(row):
    return row.alert_codes()


# --- Cells ---------------------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    (date(2026, 11, 5), date(2026, 11, 5)), (datetime(2026, 11, 5, 0, 0), date(2026, 11, 5)),
    ("07/11/2026", date(2026, 11, 7)), (" 7/11/2026 ", date(2026, 11, 7)), ("2026-11-07", date(2026, 11, 7)),
    ("2026-11-07T00:00:00", date(2026, 11, 7)), (46331, date(2026, 11, 5)), (46331.0, date(2026, 11, 5)),
])
def test_dates_from_date_cells_text_and_excel_serial_numbers(app_ctx, value, expected):
    assert parse_date(value) == expected


@pytest.mark.parametrize("value", ["", None, "   ", "31/02/2026", "demain", "=TODAY()", 46331.5, -3, True])
def test_missing_or_unreadable_dates(app_ctx, value):
    with pytest.raises(ValueError):
        parse_date(value)


@pytest.mark.parametrize("value, expected", [
    (1250.4, D("1250.40")), (100, D("100.00")), (0.1 + 0.2, D("0.30")), ("318,00", D("318.00")),
    ("318.5", D("318.50")), ("1 250,40", D("1250.40")), ("1\u202f250,40 €", D("1250.40")),
    ("1.250,40", D("1250.40")), ("1,250.40", D("1250.40")), ("0,005", D("0.01")),
])
def test_amounts_as_decimal_from_numbers_and_text(app_ctx, value, expected):
    amount = parse_amount(value)
    assert isinstance(amount, D) and amount == expected


@pytest.mark.parametrize("value", ["", None, "abc", "12,3,4x", 0, "0,00", -20.0, "-5", True, "=A1*2",
                                   "1e400", float("nan"), "Infinity"])
def test_missing_unreadable_zero_or_negative_amounts(app_ctx, value):
    with pytest.raises(ValueError):
        parse_amount(value)


@pytest.mark.parametrize("value, code, known", [
    ("Virement", "transfer", True), ("chèque", "cheque", True), ("CHEQUE", "cheque", True),
    ("Carte", "card", True), ("espèces", "cash", True), ("Prélèvement", "direct_debit", True),
    ("direct debit", "direct_debit", True), ("autre", "other", True), ("", "other", True),
    ("Bitcoin", "other", False),
])
def test_payment_methods_in_english_and_french(app_ctx, value, code, known):
    assert parse_method(value) == (code, known)


def test_headers_by_name_ignoring_case_accents_spacing_and_order(app_ctx):
    mapping, missing = map_headers(["Extra", "MONTANT", "reference  facture", "Date_Reglement", "code-client"])
    assert missing == [] and mapping == {"amount": 1, "invoice_reference": 2, "payment_date": 3, "client_code": 4}
    assert map_headers(["Référence facture", "Montant"])[1] == ["payment_date"]


def test_the_usual_row_parses_as_the_general_path_parses_it(app_ctx):
    """parse_rows takes a quicker path for the usual row (texts, a date cell, a number cell,
    no formula); it gives what the general path (parse_row, any cell) gives, alerts included."""
    day = date(2026, 11, 5)
    cells_list = [["FA000001", day, 1250.4, "Virement", "C0001", "BQ-1"],
                  [" FA000002\x00 ", day, 100.0, "Bitcoin", " c2 ", "x" * 100],
                  ["", day, 0.004, "", "", ""], ["FA3", day, 0.005, "chq", "C1", ""],
                  ["FA4", day, 12.345, "CB", "C1", "R"], ["FA5", day, 1e11, "  ", "C1", "<b>&'"],
                  ["FA6", day, 1e-7, "cb", "C1", "R"], ["FA7", day, 1e15, "cb", "C1", "R"]]
    numbered = list(enumerate(cells_list, start=2))
    usual, general = parse_rows(numbered, MAPPING), [parse_row(number, cells, MAPPING) for number, cells in numbered]
    assert [astuple(row) for row in usual] == [astuple(row) for row in general]
    assert [str(row.amount) for row in usual] == [str(row.amount) for row in general]
    assert codes(usual[1]) == ["unknown_method"] and codes(usual[2]) == ["unknown_invoice", "bad_amount"]


def test_every_alert_has_a_level_and_a_label(app_ctx):
    assert set(ALERT_LEVELS) == set(ALERT_LABELS)
    assert {level for level in ALERT_LEVELS.values()} == {"blocking", "warning"}


# --- One test per alert code ---------------------------------------------------------------

def test_a_good_row_has_no_alert(invoices, tenants):
    row, = check(tenants["ACME"], ["FA000001", date(2026, 11, 5), 1250.4, "Virement", "C001", "BQ-1"])
    assert row.alerts == [] and row.status == "ok" and row.importable and row.amount == D("1250.40")


def test_unknown_invoice_missing_or_unknown_reference(invoices, tenants):
    missing, unknown, other_tenant = check(
        tenants["ACME"], ["", date(2026, 11, 5), 10], ["FA999999", date(2026, 11, 5), 10],
        ["FA000001", date(2026, 11, 5), 10])[:2] + check(tenants["BETA"], ["FA000001", date(2026, 11, 5), 10])
    assert codes(missing) == ["unknown_invoice"] and codes(unknown) == ["unknown_invoice"]
    assert codes(other_tenant) == ["unknown_invoice"]  # another dossier's invoice is unknown here
    assert "FA999999" in unknown.alerts[0].message and unknown.status == "blocking"


def test_invoice_not_validated(invoices, tenants):
    draft = db.session.get(Invoice, invoices["draft"])
    draft.number = "BROUILLON-1"  # a draft has no number; give it one to be found
    db.session.commit()
    row, = check(tenants["ACME"], ["BROUILLON-1", date(2026, 11, 5), 10])
    assert codes(row) == ["invoice_not_validated"] and not row.importable


def test_bad_date_missing_or_unreadable(invoices, tenants):
    missing, unreadable = check(tenants["ACME"], ["FA000001", "", 10], ["FA000001", "32/13/2026", 10])
    assert codes(missing) == ["bad_date"] and codes(unreadable) == ["bad_date"]
    assert "32/13/2026" in unreadable.alerts[0].message


def test_bad_amount_missing_unreadable_zero_or_negative(invoices, tenants):
    rows = check(tenants["ACME"], *[["FA000001", date(2026, 11, 5), value] for value in ("", "douze", 0, -20)])
    assert [codes(row) for row in rows] == [["bad_amount"]] * 4


def test_client_mismatch(invoices, tenants):
    wrong, right, lower = check(tenants["ACME"], ["FA000001", date(2026, 11, 5), 10, "", "C002"],
                                ["FA000002", date(2026, 11, 5), 10, "", "C001"],
                                ["FA000003", date(2026, 11, 5), 10, "", "c002"])
    assert codes(wrong) == ["client_mismatch"] and "C002" in wrong.alerts[0].message
    assert right.alerts == [] and lower.alerts == []


def test_duplicate_accounting_reference_already_imported(invoices, tenants):
    db.session.add(Payment(tenant_id=tenants["ACME"], invoice_id=invoices["FA000002"], payment_date=date(2026, 10, 2),
                           amount=D("5"), accounting_reference="BQ-9"))
    db.session.commit()
    row, = check(tenants["ACME"], ["FA000001", date(2026, 11, 5), 10, "", "", "BQ-9"])
    assert codes(row) == ["duplicate"] and "BQ-9" in row.alerts[0].message


def test_duplicate_invoice_date_and_amount_already_imported(invoices, tenants):
    db.session.add(Payment(tenant_id=tenants["ACME"], invoice_id=invoices["FA000001"], payment_date=date(2026, 11, 5),
                           amount=D("100.00")))
    db.session.commit()
    same, other_day = check(tenants["ACME"], ["FA000001", "05/11/2026", "100,00"], ["FA000001", "06/11/2026", 100])
    assert codes(same) == ["duplicate"] and other_day.alerts == []


def test_duplicate_same_row_twice_in_the_file(invoices, tenants):
    first, second, same_reference = check(
        tenants["ACME"], ["FA000001", date(2026, 11, 5), 100, "Virement", "", "BQ-1"],
        ["fa000001", "05/11/2026", "100", "Virement", "", "BQ-1"],
        ["FA000002", date(2026, 11, 6), 50, "Virement", "", "BQ-1"])
    assert first.alerts == [] and codes(second) == ["duplicate"] and "2" in second.alerts[0].message
    assert codes(same_reference) == ["duplicate"]


def test_overpayment_counts_earlier_rows_of_the_file_and_payments_already_imported(invoices, tenants):
    db.session.add(Payment(tenant_id=tenants["ACME"], invoice_id=invoices["FA000002"], payment_date=date(2026, 10, 2),
                           amount=D("18.00")))
    db.session.commit()
    rows = check(tenants["ACME"], ["FA000002", date(2026, 11, 1), 200], ["FA000002", date(2026, 11, 2), 100],
                 ["FA000002", date(2026, 11, 3), "0,01"], ["FA000001", date(2026, 11, 3), "1250,41"])
    assert [codes(row) for row in rows] == [[], [], ["overpayment"], ["overpayment"]]
    assert rows[2].status == "warning" and rows[2].importable  # yellow rows are imported
    assert "0,00" in rows[2].alerts[0].message  # 318 − 18 − 200 − 100


def test_a_red_row_does_not_count_in_the_outstanding_balance(invoices, tenants):
    rows = check(tenants["ACME"], ["FA000002", date(2026, 11, 1), 300, "", "C002"],
                 ["FA000002", date(2026, 11, 2), 300])
    assert codes(rows[0]) == ["client_mismatch"] and rows[1].alerts == []


def test_date_before_invoice(invoices, tenants):
    row, = check(tenants["ACME"], ["FA000001", date(2026, 9, 30), 10])
    assert codes(row) == ["date_before_invoice"] and row.importable


def test_date_in_future(invoices, tenants):
    row, = check(tenants["ACME"], ["FA000001", date(2026, 11, 24), 10])
    assert codes(row) == ["date_in_future"] and row.status == "warning"


def test_unknown_method_is_imported_as_other(invoices, tenants):
    row, = check(tenants["ACME"], ["FA000001", date(2026, 11, 5), 10, "Bitcoin"])
    assert codes(row) == ["unknown_method"] and row.method == "other" and row.importable
    assert "Bitcoin" in row.alerts[0].message


def test_several_alerts_on_one_row_red_first(invoices, tenants):
    row, = check(tenants["ACME"], ["FA000001", date(2027, 1, 5), -3, "Bitcoin", "C002"])
    assert codes(row) == ["bad_amount", "client_mismatch", "date_in_future", "unknown_method"]
    assert row.status == "blocking" and not row.importable
    worst, = check(tenants["ACME"], ["FA999999", "", "", "?"])
    assert codes(worst) == ["unknown_invoice", "bad_date", "bad_amount", "unknown_method"]


def test_invoices_and_payments_are_read_in_a_few_queries(invoices, tenants):
    rows = rows_of(*[[f"FA00000{1 + i % 3}", date(2026, 11, 1 + i % 20), 1 + i, "", "", f"R{i}"]
                     for i in range(300)])
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        check_rows(rows, tenants["ACME"], TODAY)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(statements) <= 3, statements


def test_look_ups_take_any_text_and_many_values(invoices, tenants):
    """The batched look-ups send their values as one parameter (a JSON array on SQLite, an
    array on PostgreSQL): quotes, backslashes, commas and braces stay values."""
    awkward = 'FA"1\\,{2} é'
    db.session.get(Invoice, invoices["FA000002"]).number = awkward
    db.session.commit()
    references = [awkward, "FA000001", "NULL", "", *[f"X{i}" for i in range(5000)]]
    found = find_invoices(references, tenants["ACME"])
    assert set(found) == {awkward, "FA000001"} and found[awkward].id == invoices["FA000002"]


# --- The sample file -----------------------------------------------------------------------

def test_the_sample_file(invoices, tenants):
    with open(sample_path(), "rb") as handle:
        result = check_payment_file(handle.read(), "reglements_exemple.xlsx", tenants["ACME"], TODAY)
    assert result.sheet == "Règlements" and result.header_row == 1
    by_row = {row.row: codes(row) for row in result.rows}
    assert by_row == {2: [], 3: [], 4: ["unknown_invoice"], 5: ["duplicate"], 6: ["bad_date", "bad_amount"]}
    assert result.rows[1].amount == D("318.00") and result.rows[1].method == "cheque"
    assert result.rows[0].payment_date == date(2026, 11, 5) and result.rows[0].amount == D("1250.40")
    assert count_statuses(result.rows) == {"ok": 2, "warning": 0, "blocking": 3}


# --- Files ---------------------------------------------------------------------------------

def test_header_below_a_title_in_another_sheet_with_extra_columns(app_ctx):
    import openpyxl, io
    workbook = openpyxl.Workbook()
    workbook.active.title = "Notes"
    workbook.active.append(["nothing here"])
    sheet = workbook.create_sheet("Export compta")
    sheet.append(["Journal des règlements"])
    sheet.append(["Libellé", "MONTANT", "date reglement", "Reference Facture"])
    sheet.append(["x", 10, "05/11/2026", "FA000001"])
    sheet.append([])
    sheet.append(["y", "12,5", 46331, "FA000002"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    result = read_payment_file(buffer.getvalue())
    assert result.sheet == "Export compta" and result.header_row == 2
    assert [(r.row, r.invoice_reference, r.amount) for r in result.rows] == [
        (3, "FA000001", D("10.00")), (5, "FA000002", D("12.50"))]


def test_formula_cells_are_refused_and_text_starting_with_equals_stays_text(app_ctx):
    data = xlsx_file([["FA000001", "=TODAY()", "=10*2", "=A2", "", "=HYPERLINK(\"x\")"],
                      ["'=1+1", date(2026, 11, 5), "12", "", "", ""]])
    first, second = read_payment_file(data).rows
    assert codes(first) == ["bad_date", "bad_amount", "unknown_method"]
    assert "formula" in first.alerts[0].message.lower() or "formule" in first.alerts[0].message.lower()
    assert second.invoice_reference == "'=1+1" and second.alerts == []


def test_text_starting_with_equals_in_a_text_cell(app_ctx):
    import xlsxwriter, io
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"strings_to_formulas": False})
    sheet = workbook.add_worksheet("Règlements")
    for col, header in enumerate(HEADERS):
        sheet.write_string(0, col, header)
    sheet.write_string(1, 0, "=1+1")
    sheet.write_string(1, 1, "05/11/2026")
    sheet.write_number(1, 2, 10)
    sheet.write_string(1, 5, "=cmd|' /C calc'!A0")
    workbook.close()
    row, = read_payment_file(buffer.getvalue()).rows
    assert row.invoice_reference == "=1+1" and row.accounting_reference == "=cmd|' /C calc'!A0"
    assert row.alerts == []


@pytest.mark.parametrize("make, words", [
    (lambda: b"", "empty|vide"),
    (lambda: b"Date;Montant\n1;2\n", "not an Excel|pas un classeur"),
    (lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "encrypted|chiffr"),
    (lambda: b"PK\x03\x04truncated", "damaged|endommag"),
    (lambda: xlsx_file([["FA1", "01/01/2026"]], headers=["Facture ?", "Quand"]), "Header|En-t"),
    (lambda: xlsx_file([], headers=None), "Header|En-t"),
    (lambda: b"PK" + b"\x00" * (50 * 1024 * 1024 + 1), "too large|trop volumineux"),
])
def test_unreadable_files_get_one_clear_message(app_ctx, make, words):
    import re
    with pytest.raises(UnreadableFile) as error:
        read_payment_file(make())
    assert re.search(words, str(error.value), re.I), str(error.value)


def test_zip_bomb_is_refused_before_it_is_read(app_ctx):
    import io, zipfile
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"<" + b" " * (450 * 1024 * 1024) + b"/>")
    with pytest.raises(UnreadableFile, match="zip bomb|uncompressed|décompress"):
        read_payment_file(buffer.getvalue())


def test_a_zip_that_is_not_a_workbook(app_ctx):
    import io, zipfile
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<document/>")
    with pytest.raises(UnreadableFile):
        read_payment_file(buffer.getvalue())


# --- Import, cancel, outstanding -----------------------------------------------------------

def test_import_writes_only_rows_without_red_alert_as_one_batch(invoices, tenants):
    rows = check(tenants["ACME"], ["FA000001", date(2026, 11, 5), 1000, "Virement", "C001", "BQ-1"],
                 ["FA000002", date(2026, 11, 6), 400, "Bitcoin", "", "BQ-2"],   # overpayment + method: yellow
                 ["FA999999", date(2026, 11, 6), 10],                               # red
                 ["FA000001", date(2026, 11, 5), 1000, "Virement", "C001", "BQ-1"])  # red duplicate
    batch = import_rows(rows, tenants["ACME"], "f.xlsx", "someone@acme.test")
    db.session.commit()
    payments = db.session.query(Payment).order_by(Payment.id).all()
    assert [(p.invoice_id, p.amount, p.method, p.accounting_reference, p.batch_id) for p in payments] == [
        (invoices["FA000001"], D("1000.00"), "transfer", "BQ-1", batch.id),
        (invoices["FA000002"], D("400.00"), "other", "BQ-2", batch.id)]
    assert (batch.row_count, batch.imported_count, batch.warning_count, batch.blocking_count) == (4, 2, 1, 2)
    assert batch.total_amount == D("1400.00") and batch.user_email == "someone@acme.test"
    assert outstanding_amounts([invoices["FA000001"], invoices["FA000002"], invoices["FA000003"]],
                               tenants["ACME"]) == {invoices["FA000001"]: D("250.40"),
                                                    invoices["FA000002"]: D("-82.00"),
                                                    invoices["FA000003"]: D("600.00")}
    invoice = db.session.get(Invoice, invoices["FA000001"])
    db.session.refresh(invoice)
    assert invoice.outstanding_amount == D("250.40")
    # the same file again: every row is a duplicate now
    again = check(tenants["ACME"], ["FA000001", date(2026, 11, 5), 1000, "Virement", "C001", "BQ-1"],
                  ["FA000002", date(2026, 11, 6), 400, "Bitcoin", "", "BQ-2"])
    assert [codes(row)[:1] for row in again] == [["duplicate"], ["duplicate"]]


def test_cancel_batch_removes_its_payments_with_audit(invoices, tenants):
    rows = check(tenants["ACME"], ["FA000001", date(2026, 11, 5), 100, "", "", "BQ-1"],
                 ["FA000002", date(2026, 11, 6), 50])
    batch = import_rows(rows, tenants["ACME"], "f.xlsx", "a@acme.test")
    kept = import_rows(check(tenants["ACME"], ["FA000003", date(2026, 11, 7), 20]), tenants["ACME"], "g.xlsx", "")
    db.session.commit()
    with pytest.raises(PaymentError):
        cancel_batch(batch.id, tenants["BETA"], "x")
    cancel_batch(batch.id, tenants["ACME"], "b@acme.test")
    db.session.commit()
    assert [p.batch_id for p in db.session.query(Payment)] == [kept.id]
    assert db.session.get(PaymentImportBatch, batch.id).cancelled_at is not None
    assert db.session.query(AuditLogEntry).filter_by(table_name="payments", action="delete").count() >= 2
    with pytest.raises(PaymentError):
        cancel_batch(batch.id, tenants["ACME"], "b@acme.test")
    # cancelled payments are no longer duplicates
    row, = check(tenants["ACME"], ["FA000001", date(2026, 11, 5), 100, "", "", "BQ-1"])
    assert row.alerts == []


def test_damaged_files_never_crash(app_ctx):
    """Truncated files and flipped bytes: read, or one UnreadableFile, never another error."""
    import random
    good = xlsx_file([["FA000001", date(2026, 11, 5), 10.5, "Virement", "C1", f"R{i}"] for i in range(50)])
    random.seed(4)
    cases = [good[:size] for size in range(50, len(good), 211)]
    for _ in range(150):
        damaged = bytearray(good)
        for _ in range(random.randint(1, 20)):
            damaged[random.randrange(len(damaged))] = random.randrange(256)
        cases.append(bytes(damaged))
    for data in cases:
        try:
            read_payment_file(data)
        except UnreadableFile:
            pass
