"""Writing XLSX files: XlsxWriter in constant-memory mode, typed cells, no formulas.

``write_xlsx`` is pure (columns + an iterable of row tuples → a file) so that
every list, report and synthesis exports the same way and it can be tested alone.
"""
import math
import os
import tempfile
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import IO, Iterable, Sequence

import xlsxwriter

TEXT, INTEGER, MONEY, DECIMAL, DATE, DATETIME, BOOLEAN = (
    "text", "integer", "money", "decimal", "date", "datetime", "boolean")

NUMBER_FORMATS = {
    INTEGER: "0",
    MONEY: "#,##0.00",
    DECIMAL: "0.0000",
    DATE: "dd/mm/yyyy",
    DATETIME: "dd/mm/yyyy hh:mm:ss",
}
DEFAULT_WIDTHS = {TEXT: 24, INTEGER: 10, MONEY: 14, DECIMAL: 12, DATE: 12, DATETIME: 19, BOOLEAN: 8}
MAX_SHEET_NAME = 31


@dataclass(frozen=True)
class Column:
    header: str
    kind: str = TEXT
    width: int | None = None


def _workbook(target: str | IO[bytes]) -> xlsxwriter.Workbook:
    return xlsxwriter.Workbook(target, {
        "constant_memory": True,
        "strings_to_formulas": False,
        "strings_to_urls": False,
        "strings_to_numbers": False,
        "default_date_format": NUMBER_FORMATS[DATE],
    })


def _writers(worksheet, formats: dict, columns: Sequence[Column]):
    """One function per column writing a value (not ``None``) as a typed cell: the common
    case (a ``str`` in a text column, a finite ``float`` in a number column) straight to
    XlsxWriter, as a bare loop would (an export is mostly that: P2), any other value
    through ``_typed_writers``."""
    typed = _typed_writers(worksheet, formats, columns)
    write_string, write_number = worksheet.write_string, worksheet.write_number

    def text(slow):
        def write(row, col, value):
            if value.__class__ is str:
                write_string(row, col, value)
            else:
                slow(row, col, value)
        return write

    def number(slow, fmt):
        def write(row, col, value):
            if value.__class__ is float and value - value == 0.0:  # finite
                write_number(row, col, value, fmt)
            else:
                slow(row, col, value)
        return write

    writers = []
    for column, slow in zip(columns, typed):
        if column.kind == TEXT:
            writers.append(text(slow))
        elif column.kind in (INTEGER, MONEY, DECIMAL):
            writers.append(number(slow, formats.get(column.kind)))
        else:
            writers.append(slow)
    return writers


def _typed_writers(worksheet, formats: dict, columns: Sequence[Column]):
    """One function per column writing any value (not ``None``) of a cell: a non-finite
    number as text (never accepted as input; shown as text if stored anyway), a decimal as
    a double (an Excel number is one: the cell format keeps 2 or 4 decimals)."""

    def text(row, col, value, fmt):
        string = str(value)
        if string:  # left empty, as a blank cell reads back: an empty string's cell costs a cell's writing
            worksheet.write_string(row, col, string)

    def number(row, col, value, fmt):
        worksheet.write_number(row, col, value, fmt)

    def boolean(row, col, value, fmt):
        worksheet.write_boolean(row, col, bool(value))

    def moment(row, col, value, fmt):
        if isinstance(value, (date, datetime)):
            worksheet.write_datetime(row, col, value, fmt)
        else:
            worksheet.write_string(row, col, str(value))

    by_kind = {TEXT: text, INTEGER: number, MONEY: number, DECIMAL: number,
               DATE: moment, DATETIME: moment, BOOLEAN: boolean}

    def typed(write, fmt):
        def write_value(row, col, value):
            if isinstance(value, (Decimal, float)):
                if not (value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)):
                    worksheet.write_string(row, col, str(value))
                    return
                value = float(value)
            write(row, col, value, fmt)
        return write_value

    return [typed(by_kind[column.kind], formats.get(column.kind)) for column in columns]


def add_sheet(workbook: xlsxwriter.Workbook, name: str, columns: Sequence[Column],
              rows: Iterable[Sequence]) -> int:
    """Write one sheet: bold frozen header, autofilter, widths, typed cells. Returns the row count."""
    worksheet = workbook.add_worksheet(name[:MAX_SHEET_NAME])
    header_format = workbook.add_format({"bold": True, "bg_color": "#DDE4EE", "border": 1})
    formats = {kind: workbook.add_format({"num_format": fmt}) for kind, fmt in NUMBER_FORMATS.items()}
    for index, column in enumerate(columns):
        width = column.width or max(DEFAULT_WIDTHS[column.kind], len(column.header) + 3)
        worksheet.set_column(index, index, width)
        worksheet.write_string(0, index, column.header, header_format)
    worksheet.freeze_panes(1, 0)
    writers = _writers(worksheet, formats, columns)
    count = 0
    for count, row in enumerate(rows, start=1):
        for index, value in enumerate(row):
            if value is not None:
                writers[index](count, index, value)
    worksheet.autofilter(0, 0, max(count, 1), max(len(columns) - 1, 0))
    return count


def write_temporary_xlsx(sheet_name: str, columns: Sequence[Column], rows: Iterable[Sequence]) -> str:
    """Write a one-sheet workbook to a new temporary file and return its path (for
    ``views.downloads.send_temporary_download``, which removes it once sent)."""
    handle, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(handle)
    write_xlsx(path, sheet_name, columns, rows)
    return path


def write_xlsx(target: str | IO[bytes], sheet_name: str, columns: Sequence[Column],
               rows: Iterable[Sequence]) -> int:
    """Write a one-sheet workbook to ``target`` (a path or a binary file). Returns the row count."""
    workbook = _workbook(target)
    count = add_sheet(workbook, sheet_name, columns, rows)
    workbook.close()
    return count


def write_workbook(target: str | IO[bytes], sheets: Iterable[tuple[str, Sequence[Column], Iterable[Sequence]]]) -> None:
    """Write several sheets (name, columns, rows) into one workbook."""
    workbook = _workbook(target)
    for name, columns, rows in sheets:
        add_sheet(workbook, name, columns, rows)
    workbook.close()
