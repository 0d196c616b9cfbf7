"""*Réceptionner*: every file waiting in the import folder read into pending data.

A file is a documents file (``Documents_*``) or a parties file (``Tiers_*``) by its
name and its header; any other name is rejected. A file still being written
(``*.tmp``, ``*.part``, a dot-file) is left for the next run. The rows of a readable
file are stored as pending rows in one transaction (a reference read again replaces
its pending row), *then* the file moves to ``archive/``: a process killed in between
reads the file again next time, which changes nothing. An unreadable file moves to
``rejected/`` with its reason as a ``file`` item of the report; a row with a problem
is an ``error`` item (its document or party is not kept), the rest of the file is.
Files in ``archive/`` and ``rejected/`` older than ``retention_days`` are deleted.

In a dry run nothing is stored nor moved: the rows read are returned so that the
integration can report what it would do.
"""
import os
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import delete, select, tuple_

from core import transaction
from core.bulk import fast_insert
from core.extensions import db
from core.paths import absolute_folder
from exchange.received import fingerprint
from models.base import utcnow
from models.pending import PARTY_TYPES, PendingDocument, PendingDocumentLine, PendingParty, delete_documents
from rules.invoices import CENT, line_amount, totals_of
from spreadsheets.cells import CellError, Limits, parse_date, parse_decimal, parse_integer, parse_text
from spreadsheets.csv_files import FileRefused, being_written, read_csv

DOCUMENTS_HEADER = ("Reference", "Date", "CodeTiers", "NomTiers", "ModeReglement", "NumLigne", "CodeArticle",
                    "Libelle", "Quantite", "PrixUnitaireHT", "TauxTVA")
PARTIES_HEADER = ("Type", "Code", "Nom", "Adresse", "CodePostal", "Ville", "Email", "Telephone", "CodeParent")
ARCHIVE, REJECTED = "archive", "rejected"
DOCUMENTS, LINES = PendingDocument.__table__, PendingDocumentLine.__table__
PARTIES = PendingParty.__table__
CHUNK = 500
QUANTITY = PRICE = Limits(precision=14, scale=4)  # the lines' columns of orders and delivery notes
RATE = Limits(precision=5, scale=2)


def file_kind(name: str) -> str | None:
    lowered = name.lower()
    if lowered.startswith("documents_"):
        return "documents"
    if lowered.startswith("tiers_"):
        return "parties"
    return None


@dataclass
class Reading:
    """What one reading found: pending rows (kept in memory for a dry run) and counts."""

    documents: list = field(default_factory=list)
    parties: list = field(default_factory=list)
    files: int = 0


def import_folder(connector) -> Path:
    return absolute_folder((connector.settings or {})["import_folder"])


def waiting_files(connector) -> list[Path]:
    """The files *Réceptionner* would read or reject now (not those being written)."""
    folder = import_folder(connector)
    if not folder.is_dir():
        return []
    return sorted((entry for entry in folder.iterdir()
                   if not entry.is_dir() and not being_written(entry.name)), key=_order)


def _order(path: Path):
    return (0 if file_kind(path.name) == "parties" else 1, path.name)  # parties first


def _move(path: Path, subfolder: str) -> Path:
    target_folder = path.parent / subfolder
    target_folder.mkdir(exist_ok=True)
    target = target_folder / path.name
    if target.exists() or target.is_symlink():
        target = target_folder / f"{path.stem}_{utcnow():%Y%m%d%H%M%S%f}{path.suffix}"
    os.replace(path, target)
    # the retention counts from the move: the file keeps the partner's time stamp otherwise
    # (an upload preserving it would be purged from archive/ by the next run)
    os.utime(target, follow_symlinks=False)
    return target


def purge_old_files(connector) -> int:
    """Delete the files of ``archive/`` and ``rejected/`` moved there longer ago than the retention."""
    days = (connector.settings or {}).get("retention_days") or 90
    limit = time.time() - days * 86400
    removed = 0
    for subfolder in (ARCHIVE, REJECTED):
        folder = import_folder(connector) / subfolder
        if not folder.is_dir():
            continue
        for entry in folder.iterdir():
            if (entry.is_file() or entry.is_symlink()) and entry.lstat().st_mtime < limit:
                entry.unlink()
                removed += 1
    return removed


def read_files(run) -> Reading:
    """Read every waiting file of the run's connector into pending data (see module doc)."""
    connector = run.connector
    reading = Reading()
    if not run.dry_run:
        purge_old_files(connector)
    files = waiting_files(connector)
    limit = current_app.config["CSV_EXCHANGE_MAX_BYTES"]
    for path in files:
        reading.files += 1
        kind = file_kind(path.name)
        try:
            if path.is_symlink() or not path.is_file():
                raise FileRefused(_("Not a regular file."))
            if kind is None:
                raise FileRefused(_("Unknown file: a partner file is named Documents_… or Tiers_…."))
            if kind == "documents":
                rows, problems = _documents(run, path, limit)
            else:
                rows, problems = _parties(run, path, limit)
        except FileRefused as refused:
            if not run.dry_run:
                _move(path, REJECTED)
            run.item("file", path.name, "error", _("Rejected: %(reason)s", reason=str(refused)), path.name)
            continue
        except OSError as error:  # vanished or unreadable meanwhile: tried again next time
            run.item("file", path.name, "error", _("The file cannot be read: %(error)s", error=error.strerror),
                     path.name)
            continue
        for identifier, message in problems:
            run.item("document" if kind == "documents" else "party", identifier, "error", message, path.name)
        if run.dry_run:
            (reading.documents if kind == "documents" else reading.parties).extend(rows)
        else:
            _store(run, kind, rows)
            _move(path, ARCHIVE)
        if rows:
            message = (ngettext("%(num)s document read into pending data.",
                                "%(num)s documents read into pending data.", len(rows)) if kind == "documents"
                       else ngettext("%(num)s party read into pending data.",
                                     "%(num)s parties read into pending data.", len(rows)))
            run.item("file", path.name, "ok", message, path.name)
        else:
            run.item("file", path.name, "warning", _("The file holds no row to read."), path.name)
    return reading


def _store(run, kind: str, rows: list[dict]) -> None:
    """The rows of one file, replacing the pending rows of the same keys, in one transaction."""
    connector_id = run.connector.id
    with transaction.document():
        if kind == "documents":
            store_documents(connector_id, rows)
            return
        keys = [(row["party_type"], row["code"]) for row in rows]
        for start in range(0, len(keys), CHUNK):
            db.session.execute(delete(PARTIES).where(
                PARTIES.c.connector_id == connector_id,
                tuple_(PARTIES.c.party_type, PARTIES.c.code).in_(keys[start:start + CHUNK])))
        fast_insert(PARTIES, rows)


def store_documents(connector_id: int, rows: list[dict]) -> dict[str, int]:
    """Pending documents (each with its ``lines``) replacing those of the same references;
    flush only. Their ids by reference."""
    references = [row["reference"] for row in rows]
    for start in range(0, len(references), CHUNK):
        delete_documents((DOCUMENTS.c.connector_id == connector_id)
                         & DOCUMENTS.c.reference.in_(references[start:start + CHUNK]))
    fast_insert(DOCUMENTS, [{key: value for key, value in row.items() if key != "lines"} for row in rows])
    ids = {}
    for start in range(0, len(references), CHUNK * 4):
        ids.update(db.session.execute(select(DOCUMENTS.c.reference, DOCUMENTS.c.id).where(
            DOCUMENTS.c.connector_id == connector_id,
            DOCUMENTS.c.reference.in_(references[start:start + CHUNK * 4]))).all())
    fast_insert(LINES, [{"pending_document_id": ids[row["reference"]], **line}
                        for row in rows for line in row["lines"]])
    return ids


_LENGTHS: dict[int, Limits] = {}


def _text(row: dict, column: str, length: int, required: bool = False) -> str:
    limits = _LENGTHS.get(length) or _LENGTHS.setdefault(length, Limits(max_length=length))
    value = parse_text(row[column], limits)
    if required and not value:
        raise CellError(_("%(column)s is required.", column=column))
    return value


class _Cells:
    """The cells of one file parsed once per distinct text and column (dates, rates,
    quantities and codes repeat from line to line): same values, same messages."""

    LIMIT = 200_000

    def __init__(self):
        self.memo = {}

    def __call__(self, column: str, row: dict, parse):
        key = (column, row[column])
        try:
            result = self.memo[key]
        except KeyError:
            try:
                result = parse(row[column])
            except CellError as error:
                result = error
            if len(self.memo) < self.LIMIT:
                self.memo[key] = result
        if isinstance(result, CellError):
            raise result
        return result


def _documents(run, path: Path, limit: int):
    """The pending documents of a documents file and the problems, by reference."""
    connector, now = run.connector, utcnow()
    cell = _Cells()
    documents: dict[str, dict] = {}
    broken: dict[str, str] = {}
    problems = []
    for line_number, row, problem in read_csv(path, DOCUMENTS_HEADER, limit):
        if row is None:
            problems.append((_("line %(line)s", line=line_number), problem))
            continue
        reference = row["Reference"].replace("\x00", "").strip()
        try:
            reference = _text(row, "Reference", 80, required=True)
            header = {"document_date": cell("Date", row, parse_date),
                      "party_code": cell("CodeTiers", row, lambda text: _text(row, "CodeTiers", 40, True)),
                      "party_name": cell("NomTiers", row, lambda text: _text(row, "NomTiers", 200)),
                      "payment_method": cell("ModeReglement", row, lambda text: _text(row, "ModeReglement", 80))}
            line = {"line": cell("NumLigne", row, parse_integer),
                    "code": cell("CodeArticle", row, lambda text: _text(row, "CodeArticle", 80, True)),
                    "label": _text(row, "Libelle", 250),
                    "quantity": cell("Quantite", row, lambda text: parse_decimal(text, QUANTITY)),
                    "unit_price": cell("PrixUnitaireHT", row, lambda text: parse_decimal(text, PRICE)),
                    "vat_rate": cell("TauxTVA", row, lambda text: parse_decimal(text, RATE))}
        except CellError as error:
            message = _("Line %(line)s: %(error)s", line=line_number, error=str(error))
            if reference:
                broken.setdefault(reference, message)
            else:
                problems.append((_("line %(line)s", line=line_number), message))
            continue
        document = documents.get(reference)
        if document is None:
            document = documents[reference] = {**header, "lines": []}
        elif (document["document_date"], document["party_code"]) != (header["document_date"], header["party_code"]):
            broken.setdefault(reference, _("Line %(line)s: the date or the party differs from the document's "
                                           "first line.", line=line_number))
        if any(existing["line"] == line["line"] for existing in document["lines"]):
            broken.setdefault(reference, _("Line %(line)s: line number %(number)s appears twice.",
                                           line=line_number, number=line["line"]))
        document["lines"].append(line)
    rows = []
    for reference, document in documents.items():
        if reference in broken:
            continue
        lines = sorted(document["lines"], key=lambda item: item["line"])
        stored = [{key: (str(value) if isinstance(value, Decimal) else value) for key, value in line.items()}
                  for line in lines]
        content = {"date": document["document_date"].isoformat(), "party": document["party_code"],
                   "payment": document["payment_method"], "lines": stored}  # as before the lines table
        pending_lines, bases = [], {}
        for position, line in enumerate(lines, start=1):
            amount, rate = line_amount(line["quantity"], line["unit_price"]), line["vat_rate"].quantize(CENT)
            bases[rate] = bases.get(rate, Decimal(0)) + amount
            pending_lines.append({"position": position, "line_number": line["line"], "code": line["code"],
                                  "label": line["label"], "quantity": line["quantity"],
                                  "unit_price": line["unit_price"], "vat_rate": rate, "amount": amount})
        excl, vat, incl = totals_of(bases)
        rows.append({"tenant_id": connector.tenant_id, "connector_id": connector.id, "reference": reference,
                     "document_date": document["document_date"], "party_code": document["party_code"],
                     "party_name": document["party_name"], "payment_method": document["payment_method"],
                     "lines": pending_lines, "total": excl, "total_vat": vat, "total_incl_vat": incl,
                     "content_hash": fingerprint(content), "file_name": path.name[:250], "read_at": now})
    problems.extend(sorted(broken.items()))
    return rows, problems


def _parties(run, path: Path, limit: int):
    connector, now = run.connector, utcnow()
    parties: dict[tuple, dict] = {}
    problems = []
    for line_number, row, problem in read_csv(path, PARTIES_HEADER, limit):
        if row is None:
            problems.append((_("line %(line)s", line=line_number), problem))
            continue
        identifier = row["Code"] or _("line %(line)s", line=line_number)
        try:
            party_type = row["Type"].strip().upper()
            if party_type not in PARTY_TYPES:
                raise CellError(_("unknown type « %(type)s » (CLIENT, FOURNISSEUR or CONTACT).", type=row["Type"]))
            values = {"party_type": party_type, "code": _text(row, "Code", 40, True), "name": _text(row, "Nom", 200, True),
                      "address": _text(row, "Adresse", 250), "postcode": _text(row, "CodePostal", 10),
                      "city": _text(row, "Ville", 100), "email": _text(row, "Email", 254),
                      "phone": _text(row, "Telephone", 30), "parent_code": _text(row, "CodeParent", 40)}
            if party_type == "CONTACT" and not values["parent_code"]:
                raise CellError(_("a contact needs the code of its party (CodeParent)."))
        except CellError as error:
            problems.append((identifier, _("Line %(line)s: %(error)s", line=line_number, error=str(error))))
            continue
        parties[(values["party_type"], values["code"])] = {
            "tenant_id": connector.tenant_id, "connector_id": connector.id, **values,
            "file_name": path.name[:250], "read_at": now}
    return list(parties.values()), problems
