"""Partner CSV files: read in a stream, written atomically.

Reading (``read_csv``): ``;`` separator, first line the header (matched with
``cells.fold``: case, accents and spacing aside; extra columns ignored), CRLF or LF,
each line UTF-8 (with or without BOM) or else Windows-1252 (``cells.decode_text``,
line by line so that a file whose lines were written by two programs is still read
right), read line by line so that a 100 MB file never sits in memory. A file is
refused whole (``FileRefused``, its reason for the report) when it is too large,
empty, binary, or its header lacks a column; a row with a problem is yielded with
its message, the others are read.

Writing (``write_csv``): a temporary dot-file in the target folder, flushed to
disk, then renamed: a partner never sees half a file.
"""
import csv
import os
import tempfile
from pathlib import Path

from flask_babel import gettext as _

from spreadsheets.cells import CellError, decode_text, fold

SEPARATOR = ";"
IN_PROGRESS_SUFFIXES = (".tmp", ".part")


class FileRefused(Exception):
    """A file that cannot be read at all; ``str(error)`` is the reason for the report."""


def being_written(name: str) -> bool:
    """A file a partner is still writing (``*.tmp``, ``*.part``, a dot-file): left alone."""
    return name.startswith(".") or name.lower().endswith(IN_PROGRESS_SUFFIXES)


def _lines(handle):
    """The decoded lines of a binary file, each UTF-8 or else Windows-1252."""
    for number, raw in enumerate(handle, start=1):
        if b"\x00" in raw:
            raise FileRefused(_("Line %(line)s holds binary data: this is not a CSV text file.", line=number))
        try:
            text = decode_text(raw)
        except CellError:
            raise FileRefused(_("Line %(line)s is neither UTF-8 nor Windows-1252 text.", line=number)) from None
        if number == 1:
            text = text.lstrip("\ufeff")
        yield text


def read_csv(path: Path, header: tuple[str, ...], max_bytes: int):
    """Yield ``(line number, {column: text} or None, problem or "")`` for each data row
    of ``path``; ``FileRefused`` when the file cannot be read at all (raised on the
    first ``next``, before any row)."""
    size = path.stat().st_size
    if size > max_bytes:
        raise FileRefused(_("The file is too large: %(size)s MB, at most %(limit)s MB.",
                            size=round(size / 1048576, 1), limit=round(max_bytes / 1048576, 1)))
    if size == 0:
        raise FileRefused(_("The file is empty."))
    with path.open("rb") as handle:
        reader = csv.reader(_lines(handle), delimiter=SEPARATOR, strict=False)
        try:
            first = next(reader, None)
        except csv.Error as error:
            raise FileRefused(_("The header cannot be read: %(error)s.", error=str(error))) from None
        if not first or not any(cell.strip() for cell in first):
            raise FileRefused(_("The file has no header line."))
        positions = {fold(cell): index for index, cell in enumerate(first)}
        missing = [name for name in header if fold(name) not in positions]
        if missing:
            if len(first) == 1 and ("," in first[0] or "\t" in first[0]):
                raise FileRefused(_("The separator must be “;”: the header is one single column."))
            raise FileRefused(_("Columns missing from the header: %(columns)s.", columns=", ".join(missing)))
        wanted = [(name, positions[fold(name)]) for name in header]
        width = max(index for _name, index in wanted) + 1
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                yield reader.line_num, None, _("Line %(line)s cannot be read: %(error)s.", line=reader.line_num,
                                               error=str(error))
                continue
            if not any(cell.strip() for cell in row):
                continue
            if len(row) < width:
                yield reader.line_num, None, _("Line %(line)s has %(count)s columns, %(expected)s expected "
                                               "(truncated line?).", line=reader.line_num, count=len(row),
                                               expected=len(first))
                continue
            yield reader.line_num, {name: row[index].replace("\x00", "").strip() for name, index in wanted}, ""


def write_csv(folder: Path, name: str, header, rows) -> Path:
    """Write ``rows`` under ``folder / name`` atomically (temporary dot-file, then rename)."""
    folder.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
    try:
        os.fchmod(handle, 0o644)  # mkstemp's 0600 would keep a partner reading as another user out
        with os.fdopen(handle, "w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out, delimiter=SEPARATOR, lineterminator="\r\n")
            writer.writerow(header)
            writer.writerows(rows)
            out.flush()
            os.fsync(out.fileno())
        target = folder / name
        os.replace(temporary, target)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    return target
