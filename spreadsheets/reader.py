"""Reading an uploaded table: ``.xlsx`` (openpyxl read-only, so that formula cells are
seen as formulas) or ``.csv`` (UTF-8 with or without BOM, else Windows-1252; ``;`` or
``,`` separated). Anything else gets one clear message (``UnreadableFile``)."""
import csv
import io
import zipfile
from dataclasses import dataclass
from typing import Iterator

import openpyxl
from flask import current_app, has_app_context
from flask_babel import gettext as _

from spreadsheets import cells

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024  # a zip bomb is refused before it is opened
MAX_COMPRESSION_RATIO = 100  # xlsx XML compresses about 10-30 times; a zip bomb about 1,000 times
INFLATE_CHUNK = 1024 * 1024
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


def _zip_limits() -> tuple[int, int]:
    """(bytes, ratio): the most an uploaded workbook may inflate to, and its largest
    compression ratio (settings ``IMPORT_MAX_UNCOMPRESSED_BYTES`` and
    ``IMPORT_MAX_COMPRESSION_RATIO``, so that tests can use small values)."""
    config = current_app.config if has_app_context() else {}
    return (config.get("IMPORT_MAX_UNCOMPRESSED_BYTES", MAX_UNCOMPRESSED_BYTES),
            config.get("IMPORT_MAX_COMPRESSION_RATIO", MAX_COMPRESSION_RATIO))


def open_zip(data: bytes) -> zipfile.ZipFile:
    """The zip archive of an uploaded workbook, refused (``UnreadableFile``) before any
    sheet is parsed when it would inflate too much: a zip bomb. The guard of every
    workbook reader (the table import, the payments file).

    Refused by the uncompressed sizes the archive declares and their ratio to the
    file's size, then by the bytes actually inflated, counted while every member is
    inflated once in bounded chunks: a member inflating to more than it declares fails
    there (``zipfile`` stops at the declared size and the CRC no longer matches), so
    that the readers after this guard never inflate more than was checked."""
    return inflate_zip(data)[0]


def inflate_zip(data: bytes, markers: tuple[bytes, ...] = ()) -> tuple[zipfile.ZipFile, set[str]]:
    """``open_zip``, and the names of the members whose inflated bytes hold one of the
    two-byte ``markers``, looked for in the chunks the guard inflates anyway: a reader
    that looks for something in a member (the formulas of a sheet) inflates it again
    only when it may be there."""
    max_bytes, max_ratio = _zip_limits()
    limit = min(max_bytes, max_ratio * len(data))
    damaged = _("The file is not a valid Excel workbook (.xlsx): it is damaged or truncated.")
    too_large = _("The workbook is too large once uncompressed (a zip bomb?).")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except Exception:  # BadZipFile, NotImplementedError (unknown zip version), ValueError, OSError…
        raise UnreadableFile(damaged) from None
    if sum(member.file_size for member in members) > limit:
        raise UnreadableFile(too_large)
    inflated, marked = 0, set()
    try:
        for member in members:
            with archive.open(member) as stream:
                tail = b""
                while chunk := stream.read(INFLATE_CHUNK):
                    inflated += len(chunk)
                    if inflated > limit:
                        raise UnreadableFile(too_large)
                    if markers and member.filename not in marked and _holds(tail, chunk, markers):
                        marked.add(member.filename)
                    tail = chunk[-1:]
    except UnreadableFile:
        raise
    except Exception:  # a bad CRC (a member longer than declared), zlib errors, encryption
        raise UnreadableFile(damaged) from None
    return archive, marked


def _holds(tail: bytes, chunk: bytes, markers: tuple[bytes, ...]) -> bool:
    """A two-byte marker in ``chunk``, or across the end of the previous one (``tail``)."""
    joint = tail + chunk[:1]
    return any(marker in chunk or marker == joint for marker in markers)


def _read_xlsx(data: bytes) -> Table:
    open_zip(data)
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
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
        for number, row_cells in enumerate(rows, start=2):
            values = [_cell_value(cell) for cell in row_cells]
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
