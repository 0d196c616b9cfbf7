"""Reading an uploaded ``.xlsx`` fast with python-calamine (Rust), for large imports
such as the accounting's payments file.

Checked before anything is parsed, each with one clear message
(``UnreadableFile``): empty, too large (> 50 MB), encrypted or old ``.xls`` (an
OLE compound file), not an xlsx (not a zip, or a zip without
``xl/workbook.xml``), zip bomb (``reader.open_zip``), no sheet.

Formula cells: calamine returns the value cached by Excel when the file was
saved, without telling it came from a formula, and never evaluates anything.
A cached result is not the accounting's typed value (it depends on other cells
and may be stale), so it is not taken as trusted input: the cells holding a
formula are found in the sheet's XML (only when the sheet has one) and given to
the caller (``Sheet.formula_cells``), which refuses them. A *text* cell starting
with ``=`` is text: it is read, shown (escaped) and exported as text, never
evaluated.
"""
import io
import posixpath
import re
import zipfile
from dataclasses import dataclass, field

from flask_babel import gettext as _
from python_calamine import CalamineWorkbook, SheetTypeEnum

from spreadsheets.reader import UnreadableFile, check_upload, inflate_zip

_NOT_OURS = (KeyboardInterrupt, SystemExit, GeneratorExit, UnreadableFile)

_SHEET = re.compile(rb'<(?:\w+:)?sheet\b[^>]*?\bname="([^"]*)"[^>]*?\br:id="([^"]+)"|'
                    rb'<(?:\w+:)?sheet\b[^>]*?\br:id="([^"]+)"[^>]*?\bname="([^"]*)"')
_RELATIONSHIP = re.compile(rb'<(?:\w+:)?Relationship\b[^>]*?\bId="([^"]+)"[^>]*?\bTarget="([^"]+)"|'
                           rb'<(?:\w+:)?Relationship\b[^>]*?\bTarget="([^"]+)"[^>]*?\bId="([^"]+)"')
_FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")
_FORMULA_MARKERS = (b"<f", b":f")  # in every formula element, prefixed or not: a cheap first look
_CELL_WITH_FORMULA = re.compile(
    rb'<(?:\w+:)?c\b[^>]*?\br="([A-Z]+)(\d+)"[^>]*?(?<!/)>(?:(?!</(?:\w+:)?c>).)*?<(?:\w+:)?f[\s>/]', re.S)


@dataclass
class Sheet:
    name: str
    rows: list[list]                      # every row from row 1 (index 0 = sheet row 1), cells from column A
    formula_cells: set[tuple[int, int]] = field(default_factory=set)  # (sheet row number, 0-based column)


class Workbook:
    """An opened workbook: its worksheets (chart and macro sheets left out), by name."""

    def __init__(self, calamine: CalamineWorkbook, archive: zipfile.ZipFile, marked: set[str] | None = None):
        self._calamine, self._archive = calamine, archive
        self._marked = marked  # the members that may hold a formula (None: any)
        # calamine numbers every sheet; keep the index of each worksheet
        self._indexes = [index for index, meta in enumerate(calamine.sheets_metadata)
                         if meta.typ == SheetTypeEnum.WorkSheet]
        self.sheets = [calamine.sheet_names[index] for index in self._indexes]

    def sheet(self, index: int) -> Sheet:
        """A worksheet's rows (every row from row 1, cells from column A) and formula cells."""
        name = self.sheets[index]
        try:
            rows = self._calamine.get_sheet_by_index(self._indexes[index]).to_python(skip_empty_area=False)
            formulas = _formula_cells(self._archive, name, self._marked)
        except _NOT_OURS:
            raise
        except BaseException:  # see open_xlsx
            raise UnreadableFile(_("The sheet « %(sheet)s » cannot be read.", sheet=name))
        return Sheet(name, rows, formulas)


def open_xlsx(data: bytes) -> Workbook:
    """Check the bytes of an uploaded file and open them as a workbook."""
    check_upload(data)
    if not data.startswith(b"PK"):
        raise UnreadableFile(_("The file is not an Excel workbook (.xlsx)."))
    # the zip bomb guard shared with the table import, which also tells the sheets with a formula
    archive, marked = inflate_zip(data, _FORMULA_MARKERS)
    if "xl/workbook.xml" not in set(archive.namelist()):
        raise UnreadableFile(_("The file is not an Excel workbook (.xlsx)."))
    try:
        workbook = Workbook(CalamineWorkbook.from_filelike(io.BytesIO(data)), archive, marked)
    except _NOT_OURS:
        raise
    except BaseException:  # calamine's errors, and a Rust panic (pyo3's PanicException is a BaseException)
        raise UnreadableFile(_("The file is not a valid Excel workbook (.xlsx): it is damaged or truncated."))
    if not workbook.sheets:
        raise UnreadableFile(_("The workbook has no sheet."))
    return workbook


def _sheet_part(archive: zipfile.ZipFile, sheet_name: str) -> str | None:
    """The zip path of a sheet's XML, from ``xl/workbook.xml`` and its relationships."""
    try:
        workbook = archive.read("xl/workbook.xml")
        rels = archive.read("xl/_rels/workbook.xml.rels")
    except KeyError:
        return None
    wanted = None
    for match in _SHEET.finditer(workbook):
        name, rid = ((match.group(1), match.group(2)) if match.group(1) is not None
                     else (match.group(4), match.group(3)))
        if _xml_text(name) == sheet_name:
            wanted = rid
            break
    if wanted is None:
        return None
    for match in _RELATIONSHIP.finditer(rels):
        rid, target = ((match.group(1), match.group(2)) if match.group(1) is not None
                       else (match.group(4), match.group(3)))
        if rid == wanted:
            target = target.decode()
            return target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
    return None


def _xml_text(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace")
    for entity, char in (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'"), ("&amp;", "&")):
        text = text.replace(entity, char)
    return text


def _formula_cells(archive: zipfile.ZipFile, sheet_name: str, marked: set[str] | None = None) -> set[tuple[int, int]]:
    """(row number, 0-based column) of every cell of the sheet holding a formula.

    ``marked``: the members in which the zip guard saw a formula marker; a sheet not among
    them has no formula and is not inflated again (most files have no formula at all)."""
    part = _sheet_part(archive, sheet_name)
    if part is None or (marked is not None and part not in marked):
        return set()
    try:
        xml = archive.read(part)
    except KeyError:
        return set()
    if not _FORMULA.search(xml):
        return set()
    return {(int(row), _column_index(letters)) for letters, row in _CELL_WITH_FORMULA.findall(xml)}


def _column_index(letters: bytes) -> int:
    index = 0
    for letter in letters:
        index = index * 26 + (letter - 64)
    return index - 1
