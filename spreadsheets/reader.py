"""Reading an uploaded table: ``.xlsx`` (openpyxl read-only, so that formula cells are
seen as formulas) or ``.csv`` (UTF-8 with or without BOM, else Windows-1252; ``;`` or
``,`` separated). Anything else gets one clear message (``UnreadableFile``)."""
import csv
import io
import zipfile
from dataclasses import dataclass
from typing import Iterator

import openpyxl
from flask_babel import gettext as _

from spreadsheets import cells

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_UNCOMPRESSED_BYTES = 500 * 1024 * 1024  # a zip bomb is refused before it is opened
OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


class UnreadableFile(ValueError):
    """The file cannot be read as a table; the message says why, for the user."""


@dataclass(frozen=True)
class Formula:
    """A cell holding a formula: never evaluated nor imported."""

    text: str


@dataclass
class Table:
    headers: list[str]
    rows: Iterator[tuple[int, list]]  # (sheet row number, cell values)


def check_upload(data: bytes) -> None:
    """Refuse, with the user's message, what no reader should open: an empty or too
    large file, an encrypted workbook or an old .xls (both OLE compound files)."""
    if not data:
        raise UnreadableFile(_("The file is empty."))
    if len(data) > MAX_UPLOAD_BYTES:
        raise UnreadableFile(_("The file is too large (more than 50 MB)."))
    if data.startswith(OLE_SIGNATURE):
        raise UnreadableFile(_("The file is encrypted or in the old .xls format: save it as .xlsx without a password."))


def read_table(data: bytes, filename: str) -> Table:
    check_upload(data)
    if data.startswith(b"PK"):
        return _read_xlsx(data)
    if filename.lower().endswith((".xlsx", ".xlsm", ".xls")):
        raise UnreadableFile(_("The file is not a valid Excel workbook."))
    return _read_csv(data)


def _read_xlsx(data: bytes) -> Table:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_UNCOMPRESSED_BYTES:
                raise UnreadableFile(_("The workbook is too large once uncompressed."))
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except UnreadableFile:
        raise
    except Exception:
        raise UnreadableFile(_("The file is not a valid Excel workbook."))
    if not workbook.worksheets:
        raise UnreadableFile(_("The workbook has no sheet."))
    sheet = workbook.worksheets[0]
    rows = sheet.iter_rows()
    try:
        header_cells = next(rows)
    except StopIteration:
        raise UnreadableFile(_("The sheet is empty: the first row must hold the column headers."))
    headers = [str(cell.value).strip() if cell.value is not None else "" for cell in header_cells]

    def body():
        for number, cells in enumerate(rows, start=2):
            values = [_cell_value(cell) for cell in cells]
            if any(value not in (None, "") for value in values):
                yield number, values
        workbook.close()

    return Table(headers, body())


def _cell_value(cell):
    if cell.data_type == "f" or (isinstance(cell.value, str) and cell.data_type == "f"):
        return Formula(str(cell.value))
    return cell.value


def _decode(data: bytes) -> str:
    try:
        return cells.decode_text(data)
    except cells.CellError as error:
        raise UnreadableFile(str(error)) from None


def _read_csv(data: bytes) -> Table:
    if b"\x00" in data[:4096]:
        raise UnreadableFile(_("The file is neither an .xlsx workbook nor a CSV text file."))
    text = _decode(data)
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") >= first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        headers = [cells.clean_text(header) for header in next(reader)]
    except StopIteration:
        raise UnreadableFile(_("The file is empty."))
    except csv.Error:
        raise UnreadableFile(_("The file is not a readable CSV file."))

    def body():
        try:
            for number, values in enumerate(reader, start=2):
                if any(value.strip() for value in values):
                    yield number, values
        except csv.Error as error:
            raise UnreadableFile(_("The CSV file is malformed: %(error)s", error=str(error)))

    return Table(headers, body())
