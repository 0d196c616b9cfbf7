"""Importing a table from a spreadsheet: the inverse of its export.

Headers are the export's (French or English) headers or the field names;
relations are given by code; rows are created or updated by code. Every row is
checked with the same rules as the screens, every error is reported by row and
column, and the file is imported whole or not at all.
"""
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError

from core.extensions import db
from core.glossary import CHOICE_LABELS, label_of
from rules.parameters import ROW_RULES
from spreadsheets import xlsx
from spreadsheets.reader import Formula, Table, UnreadableFile, read_table
from spreadsheets.resources import Field, fields_of

TRUE_WORDS = {"1", "true", "vrai", "oui", "yes", "x", "o", "y"}
FALSE_WORDS = {"0", "false", "faux", "non", "no", "n", ""}


def normalise(text: str) -> str:
    """Lower case, no accents, single spaces: how headers and labels are compared."""
    text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    return re.sub(r"[\s_\-]+", " ", text).strip().lower()


@dataclass
class RowResult:
    number: int
    code: str
    action: str  # "create" or "update"
    cells: dict[str, object]
    errors: dict[str, str] = field(default_factory=dict)


@dataclass
class ImportReport:
    columns: list[Field] = field(default_factory=list)
    rows: list[RowResult] = field(default_factory=list)
    file_errors: list[str] = field(default_factory=list)
    written: bool = False

    @property
    def error_count(self) -> int:
        return len(self.file_errors) + sum(len(row.errors) for row in self.rows)

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    def count(self, action: str) -> int:
        return sum(1 for row in self.rows if row.action == action)

    def messages(self) -> list[str]:
        """Every error as one line: ``row 4, Code: …``."""
        lines = list(self.file_errors)
        labels = {f.name: f.column.header for f in self.columns}
        for row in self.rows:
            for name, message in row.errors.items():
                lines.append(_("Row %(row)s, %(column)s: %(message)s", row=row.number,
                               column=labels.get(name, name), message=message))
        return lines


class TableSpec:
    """What an import of one table needs: the model, its columns, closed lists and rules."""

    def __init__(self, model, field_names, choices: dict[str, list] | None = None, read_only=()):
        self.model = model
        self.fields = [f for f in fields_of(model, field_names) if f.name not in read_only]
        self.read_only = fields_of(model, [name for name in field_names if name in read_only])
        self.choices = choices or {}
        mapper = inspect(model)
        self.required = {"code"} | {
            f.name for f in self.fields
            if not f.relation and not mapper.columns[f.name].nullable
            and mapper.columns[f.name].default is None and f.kind == xlsx.TEXT
        }

    def header_map(self, headers: list[str]) -> tuple[dict[int, Field], list[str]]:
        """Column index → field, and the errors (unknown, duplicate or missing columns)."""
        ignored = {spelling for f in self.read_only for spelling in _spellings(f.name, label_of(f.name))}
        known = {spelling: f for f in self.fields for spelling in _spellings(f.name, label_of(f.name))}
        mapping, errors, seen = {}, [], set()
        for index, header in enumerate(headers):
            if not header or normalise(header) in ignored:
                continue
            f = known.get(normalise(header))
            if f is None:
                errors.append(_("Unknown column « %(header)s ».", header=header))
            elif f.name in seen:
                errors.append(_("The column « %(header)s » appears twice.", header=header))
            else:
                mapping[index] = f
                seen.add(f.name)
        for name in sorted(self.required - seen):
            errors.append(_("The mandatory column « %(header)s » is missing.", header=label_of(name)))
        return mapping, errors


def _parse(spec: TableSpec, f: Field, raw):
    """The typed value of a cell, or raise ValueError with the user's message."""
    if isinstance(raw, Formula):
        raise ValueError(_("formulas are not imported: type the value itself."))
    if isinstance(raw, str):
        raw = raw.strip()
    if raw is None or raw == "":
        if f.kind == xlsx.BOOLEAN:
            return False
        return "" if f.kind == xlsx.TEXT and not f.relation and f.name not in spec.choices else None
    if f.relation:
        return str(raw)
    if f.name in spec.choices:
        return _parse_choice(spec.choices[f.name], raw)
    parser = {xlsx.BOOLEAN: _parse_bool, xlsx.INTEGER: _parse_int, xlsx.MONEY: _parse_decimal,
              xlsx.DECIMAL: _parse_decimal, xlsx.DATE: _parse_date, xlsx.DATETIME: _parse_date}.get(f.kind)
    return parser(raw) if parser else str(raw)


def _spellings(name: str, label) -> set[str]:
    """How a column or a value may be written: its code name, its French and English labels."""
    spellings = {normalise(name)}
    for locale in ("fr", "en"):
        with force_locale(locale):
            spellings.add(normalise(str(label)))
    return spellings


def _parse_choice(values, raw):
    wanted = normalise(raw)
    for value in values:
        if wanted in _spellings(value, CHOICE_LABELS.get(value, value)):
            return value
    raise ValueError(_("« %(value)s » is not one of: %(values)s.", value=raw, values=", ".join(values)))


def _parse_bool(raw):
    if isinstance(raw, bool):
        return raw
    word = normalise(raw)
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(_("« %(value)s » is not yes or no.", value=raw))


def _parse_decimal(raw) -> Decimal:
    if isinstance(raw, bool):
        raise ValueError(_("« %(value)s » is not a number.", value=raw))
    text = str(raw).replace("\u00a0", "").replace(" ", "").replace(",", ".")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(_("« %(value)s » is not a number.", value=raw))
    if not value.is_finite():
        raise ValueError(_("« %(value)s » is not a number.", value=raw))
    return value


def _parse_int(raw) -> int:
    value = _parse_decimal(raw)
    if value != value.to_integral_value():
        raise ValueError(_("« %(value)s » is not a whole number.", value=raw))
    return int(value)


def _parse_date(raw) -> date:
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    text = str(raw).strip()
    for pattern in ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y"):
        try:
            return datetime.strptime(text[:10], pattern).date()
        except ValueError:
            continue
    raise ValueError(_("« %(value)s » is not a date (DD/MM/YYYY).", value=raw))


def _targets(spec: TableSpec, f: Field):
    return inspect(spec.model).relationships[f.name].mapper.class_


def _lookup_relations(spec: TableSpec, parsed_rows, tenant_id, file_objects):
    """For each relation, code → row of the tenant (rows of this file first when the
    relation points at the imported table itself), in one query per relation."""
    lookups = {}
    for f in spec.fields:
        if not f.relation:
            continue
        target = _targets(spec, f)
        codes = {values[f.name] for _n, values, _e in parsed_rows if values.get(f.name)}
        found = {}
        if codes:
            found = {row.code: row for row in db.session.execute(
                select(target).where(target.tenant_id == tenant_id, target.code.in_(codes))).scalars()}
        if target is spec.model:
            found.update(file_objects)
        lookups[f.name] = found
    return lookups


def plan(spec: TableSpec, table: Table, tenant_id: int) -> tuple[ImportReport, list]:
    """Check every row and build the objects to write (new ones not yet in the session)."""
    report = ImportReport(columns=spec.fields)
    mapping, report.file_errors = spec.header_map(table.headers)
    if report.file_errors:
        return report, []
    parsed_rows = []
    for number, cells in table.rows:
        values, errors = {}, {}
        for index, f in mapping.items():
            raw = cells[index] if index < len(cells) else None
            try:
                values[f.name] = _parse(spec, f, raw)
            except ValueError as error:
                errors[f.name] = str(error)
        parsed_rows.append((number, values, errors))
    if not parsed_rows:
        report.file_errors.append(_("The file has no data row."))
        return report, []

    model = spec.model
    codes = [values.get("code") for _n, values, _e in parsed_rows if values.get("code")]
    existing = {row.code: row for row in db.session.execute(
        select(model).where(model.tenant_id == tenant_id, model.code.in_(set(codes)))).scalars()}
    first_row_of_code, objects, file_objects = {}, [], {}
    for number, values, errors in parsed_rows:
        code = str(values.get("code") or "")
        if code and code in first_row_of_code:
            errors["code"] = _("The code %(code)s is already on row %(row)s of the file.",
                               code=code, row=first_row_of_code[code])
        first_row_of_code.setdefault(code, number)
        obj = existing.get(code) or model(tenant_id=tenant_id)
        if code and "code" not in errors:
            file_objects[code] = obj
        report.rows.append(RowResult(number, code, "update" if obj.id else "create", values, errors))
        objects.append(obj)

    lookups = _lookup_relations(spec, parsed_rows, tenant_id, file_objects)
    rule = ROW_RULES.get(model)
    resolved = [_resolve(spec, row, lookups) for row in report.rows]
    # Plain values first, so that a row may refer to another row of the same file.
    for obj, given in zip(objects, resolved):
        for name, value in given.items():
            setattr(obj, name, value)
    for row, obj, given in zip(report.rows, objects, resolved):
        values = {f.name: getattr(obj, f.name) for f in spec.fields}
        for name in spec.required:
            if values.get(name) in (None, "") and name not in row.errors:
                row.errors[name] = _("The cell is empty: fill in « %(header)s », it is mandatory.", header=label_of(name))
        if rule:
            for name, message in rule(values, tenant_id, obj.id).items():
                row.errors.setdefault(name, message)
    return report, objects


def _resolve(spec: TableSpec, row: RowResult, lookups) -> dict:
    """The row's valid values, relations turned from codes into rows."""
    given = {}
    for f in spec.fields:
        if f.name not in row.cells or f.name in row.errors:
            continue
        value = row.cells[f.name]
        if f.relation and value is not None:
            value = lookups[f.name].get(value)
            if value is None:
                row.errors[f.name] = _("Unknown code %(code)s.", code=row.cells[f.name])
                continue
        given[f.name] = value
    return given


def import_table(spec: TableSpec, data: bytes, filename: str, tenant_id: int, dry_run: bool = False) -> ImportReport:
    """Check the file and, when every row is valid and not ``dry_run``, write all rows
    (flushed; the caller commits). On any error nothing is written."""
    try:
        table = read_table(data, filename)
    except UnreadableFile as error:
        return ImportReport(columns=spec.fields, file_errors=[str(error)])
    try:
        with db.session.no_autoflush:
            report, objects = plan(spec, table, tenant_id)
    except UnreadableFile as error:
        db.session.rollback()
        return ImportReport(columns=spec.fields, file_errors=[str(error)])
    if not report.ok or dry_run:
        db.session.rollback()
        return report
    try:
        db.session.add_all(objects)
        db.session.flush()
    except IntegrityError as error:
        db.session.rollback()
        report.file_errors.append(_("The database refused the rows: %(error)s", error=str(error.orig)[:300]))
        return report
    report.written = True
    return report
