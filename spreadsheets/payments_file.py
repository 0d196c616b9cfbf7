"""The accounting's payments file (``payments-import.md``): the sheet and its header
row found by column names, then one ``PaymentRow`` per non-empty data row.

Read with python-calamine (``spreadsheets.fast_reader``): the whole sheet in one
call, then plain Python over lists. The header is looked for in the first rows
of each worksheet (a title line above it is allowed); the first sheet that has
it is read.
"""
from dataclasses import dataclass, field

from flask_babel import gettext as _

from rules.payments import (
    COLUMNS, REQUIRED_COLUMNS, TEMPLATE_HEADERS, PaymentRow, batch_total_error, check_rows, map_headers, parse_rows,
)
from spreadsheets.fast_reader import open_xlsx
from spreadsheets.reader import UnreadableFile

HEADER_SEARCH_ROWS = 10


@dataclass
class PaymentFile:
    filename: str
    sheet: str
    header_row: int
    columns: dict[str, int]
    rows: list[PaymentRow] = field(default_factory=list)


def read_payment_file(data: bytes, filename: str = "") -> PaymentFile:
    """Parse the file (no database): raises ``UnreadableFile`` with one clear message."""
    workbook = open_xlsx(data)
    found, best_missing = None, list(REQUIRED_COLUMNS)
    for index in range(len(workbook.sheets)):
        sheet = workbook.sheet(index)  # read once: calamine parses a whole sheet anyway
        for offset, cells in enumerate(sheet.rows[:HEADER_SEARCH_ROWS]):
            mapping, missing = map_headers(cells)
            if not missing:
                found = (sheet, offset, mapping)
                break
            if mapping and len(missing) < len(best_missing):
                best_missing = missing
        if found:
            break
    if found is None:
        raise UnreadableFile(_(
            "Header row not found: the first rows must name the columns %(columns)s (missing: %(missing)s).",
            columns=", ".join(f"« {TEMPLATE_HEADERS[name]} »" for name in REQUIRED_COLUMNS),
            missing=", ".join(f"« {TEMPLATE_HEADERS[name]} »" for name in best_missing)))
    sheet, offset, mapping = found
    formulas: dict[int, set[int]] = {}
    for row_number, column in sheet.formula_cells:
        formulas.setdefault(row_number, set()).add(column)
    rows = parse_rows(_data_rows(sheet.rows, offset + 1, sorted(mapping.values())), mapping, formulas)
    return PaymentFile(filename, sheet.name, offset + 1, mapping, rows)


def _data_rows(sheet_rows: list, first: int, used: list[int]):
    """(sheet row number, cells) of every row from index ``first`` with a value in a used
    column (an empty row, or one with text only in other columns, is skipped)."""
    for position in range(first, len(sheet_rows)):
        cells = sheet_rows[position]
        width = len(cells)
        for index in used:
            if index < width and cells[index] not in ("", None):
                yield position + 1, cells
                break


def check_payment_file(data: bytes, filename: str, tenant_id: int, today=None) -> PaymentFile:
    """Read the file and give every row its alerts (the control screen, the command)."""
    payment_file = read_payment_file(data, filename)
    check_rows(payment_file.rows, tenant_id, today)
    too_large = batch_total_error(payment_file.rows)
    if too_large:
        raise UnreadableFile(too_large)
    return payment_file


__all__ = ["COLUMNS", "PaymentFile", "UnreadableFile", "check_payment_file", "read_payment_file"]


TEMPLATE_SHEET = "Règlements"


def write_template(target, example_date=None) -> None:
    """The template of ``payments-import.md``: one sheet, the header row and one example
    row (typed cells: a date cell, a number cell), written by ``spreadsheets.xlsx``."""
    from datetime import date
    from decimal import Decimal

    from spreadsheets import xlsx

    columns = [xlsx.Column(TEMPLATE_HEADERS["invoice_reference"], xlsx.TEXT, 20),
               xlsx.Column(TEMPLATE_HEADERS["payment_date"], xlsx.DATE, 16),
               xlsx.Column(TEMPLATE_HEADERS["amount"], xlsx.MONEY, 14),
               xlsx.Column(TEMPLATE_HEADERS["method"], xlsx.TEXT, 20),
               xlsx.Column(TEMPLATE_HEADERS["client_code"], xlsx.TEXT, 14),
               xlsx.Column(TEMPLATE_HEADERS["accounting_reference"], xlsx.TEXT, 22)]
    example = ("FA000001", example_date or date.today(), Decimal("1250.40"), "Virement", "C0001", "BQ-000001")
    xlsx.write_xlsx(target, TEMPLATE_SHEET, columns, [example])
