"""Importing a table from a spreadsheet: the inverse of its export.

Headers are the export's (French or English) headers or the field names;
relations are given by code; rows are created or updated by code. Every row is
checked with the same rules as the screens, every error is reported by row and
column, and the file is imported whole or not at all.
"""
from dataclasses import dataclass, field
from functools import lru_cache

from flask import current_app, has_app_context
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import inspect, select
from sqlalchemy.exc import DataError, IntegrityError

from core.batching import chunks
from core.audit import audit_in_one_entry, audited_in_bulk
from core.extensions import db
from core.glossary import CHOICE_LABELS, label_of
from rules.parameters import ROW_RULES
from spreadsheets import cells, xlsx
from spreadsheets.reader import Formula, Table, UnreadableFile, read_table
from spreadsheets.resources import Field, fields_of

@dataclass
class RowResult:
    number: int
    code: str
    action: str  # "create" or "update"
    cells: dict[str, object]
    errors: dict[str, str] = field(default_factory=dict)


@dataclass
class ImportReport:
    """What an import found. Counts cover every row; ``rows`` keeps only the rows a page
    or a command shows (the first ones, and the first ones with an error), so that a
    170,000-row file is checked in bounded memory."""

    columns: list[Field] = field(default_factory=list)
    rows: list[RowResult] = field(default_factory=list)
    file_errors: list[str] = field(default_factory=list)
    written: bool = False
    row_count: int = 0
    error_rows: int = 0
    cell_errors: int = 0
    actions: dict[str, int] = field(default_factory=lambda: {"create": 0, "update": 0})
    changed: int = 0  # rows created or actually modified (an update may change nothing)
    keep: int = 200

    @property
    def error_count(self) -> int:
        return len(self.file_errors) + self.cell_errors

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    def count(self, action: str) -> int:
        return self.actions.get(action, 0)

    def add(self, row: RowResult) -> None:
        self.row_count += 1
        self.actions[row.action] = self.actions.get(row.action, 0) + 1
        if row.errors:
            self.error_rows += 1
            self.cell_errors += len(row.errors)
        if self.row_count <= self.keep or (row.errors and self.error_rows <= self.keep):
            self.rows.append(row)

    def shown_rows(self, limit: int) -> tuple[list[RowResult], int]:
        """The rows a page shows (those with an error when there are some, at most
        ``limit``) and how many more there are."""
        if self.error_rows:
            return [row for row in self.rows if row.errors][:limit], max(self.error_rows - limit, 0)
        return self.rows[:limit], max(self.row_count - limit, 0)

    def messages(self) -> list[str]:
        """The errors of the kept rows as lines: ``row 4, Code: …``."""
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
        self.limits = {f.name: cells.limits_of_field(model, f.name) for f in self.fields if not f.relation}
        self.relation_limits = {f.name: cells.limits_of(_code_column(model, f.name))
                                for f in self.fields if f.relation}
        self.refers_to_itself = any(f.relation and _targets(self, f) is model for f in self.fields)
        self.keyed_by_code = "code" in mapper.columns  # else a one-row table (the dossier settings)
        self.required = ({"code"} if self.keyed_by_code else set()) | {
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
            if not header or cells.fold(header) in ignored:
                continue
            f = known.get(cells.fold(header))
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
    """The typed value of a cell (``spreadsheets.cells``, within the column's limits), or
    raise ValueError with the user's message."""
    if isinstance(raw, Formula):
        raise ValueError(_("formulas are not imported: type the value itself."))
    if cells.is_blank(raw):
        if f.kind == xlsx.BOOLEAN:
            return False
        return "" if f.kind == xlsx.TEXT and not f.relation and f.name not in spec.choices else None
    if f.relation:
        return cells.parse_text(raw, spec.relation_limits[f.name])
    if f.name in spec.choices:
        return _parse_choice(spec.choices[f.name], raw)
    limits = spec.limits[f.name]
    if f.kind in (xlsx.MONEY, xlsx.DECIMAL):
        return cells.parse_decimal(raw, limits)
    if f.kind == xlsx.INTEGER:
        return cells.parse_integer(raw, limits)
    if f.kind == xlsx.DATE:
        return cells.parse_date(raw)
    if f.kind == xlsx.DATETIME:
        return cells.parse_datetime(raw)
    if f.kind == xlsx.BOOLEAN:
        return cells.parse_bool(raw)
    return cells.parse_text(raw, limits)


def _spellings(name: str, label) -> set[str]:
    """How a column or a value may be written: its code name, its French and English labels."""
    spellings = {cells.fold(name)}
    for locale in ("fr", "en"):
        with force_locale(locale):
            spellings.add(cells.fold(str(label)))
    return spellings


@lru_cache(maxsize=256)
def _choice_spellings(values: tuple) -> dict[str, str]:
    """Every spelling of a closed list's values (codes, French and English labels) → value,
    computed once per list rather than for every cell."""
    return {spelling: value for value in reversed(values)
            for spelling in _spellings(value, CHOICE_LABELS.get(value, value))}


def _parse_choice(values, raw):
    found = _choice_spellings(tuple(values)).get(cells.fold(cells.clean_text(raw)))
    if found is not None:
        return found
    raise ValueError(_("« %(value)s » is not one of: %(values)s.", value=cells.clean_text(raw),
                       values=", ".join(values)))


LOOKUP_BATCH = 5000  # codes per query: far below PostgreSQL's 65,535 bound parameters


def rows_by_code(model, tenant_id: int, codes) -> dict:
    """The tenant's rows of ``model`` whose code is in ``codes``, by code, looked up
    ``LOOKUP_BATCH`` codes at a time whatever the number of codes."""
    codes, found = sorted(set(codes)), {}
    for start in range(0, len(codes), LOOKUP_BATCH):
        chunk = codes[start:start + LOOKUP_BATCH]
        found.update((row.code, row) for row in db.session.execute(
            select(model).where(model.tenant_id == tenant_id, model.code.in_(chunk))).scalars())
    return found


def _code_column(model, relation: str):
    return inspect(model).relationships[relation].mapper.class_.__table__.c.code


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
        found = rows_by_code(target, tenant_id, codes)
        if target is spec.model:
            found.update(file_objects)
        lookups[f.name] = found
    return lookups


CHUNK_ROWS = 5000  # rows checked (and written) together: memory stays bounded whatever the file


@dataclass
class _Progress:
    """What the chunks of one file share: the first row of each code, and the rows of
    the file by code when the table refers to itself."""

    first_row_of_code: dict = field(default_factory=dict)
    file_objects: dict = field(default_factory=dict)


def _parsed_rows(spec: TableSpec, table: Table, mapping: dict):
    for number, raw_cells in table.rows:
        values, errors = {}, {}
        for index, f in mapping.items():
            raw = raw_cells[index] if index < len(raw_cells) else None
            try:
                values[f.name] = _parse(spec, f, raw)
            except ValueError as error:
                errors[f.name] = str(error)
        yield number, values, errors


def _check_chunk(spec: TableSpec, parsed_rows: list, tenant_id: int, progress: _Progress, singleton=None) -> list:
    """Check the rows of one chunk and build their objects (new ones not yet in the
    session): a list of (RowResult, object). A table without codes has one row, which
    updates ``singleton``."""
    model = spec.model
    existing = rows_by_code(model, tenant_id, [values.get("code") for _n, values, _e in parsed_rows
                                               if values.get("code")]) if spec.keyed_by_code else {}
    results = []
    for number, values, errors in parsed_rows:
        if singleton is not None:
            results.append((RowResult(number, "", "update", values, errors), singleton))
            continue
        code = str(values.get("code") or "")
        if code and code in progress.first_row_of_code:
            errors["code"] = _("The code %(code)s is already on row %(row)s of the file.",
                               code=code, row=progress.first_row_of_code[code])
        progress.first_row_of_code.setdefault(code, number)
        obj = existing.get(code) or model(tenant_id=tenant_id)
        if code and "code" not in errors and spec.refers_to_itself:
            progress.file_objects[code] = obj
        results.append((RowResult(number, code, "update" if obj.id else "create", values, errors), obj))

    lookups = _lookup_relations(spec, parsed_rows, tenant_id, progress.file_objects)
    rule = ROW_RULES.get(model)
    resolved = [_resolve(spec, row, lookups) for row, _obj in results]
    # Plain values first, so that a row may refer to another row of the same file.
    for (_row, obj), given in zip(results, resolved):
        for name, value in given.items():
            setattr(obj, name, value)
    for row, obj in results:
        values = {f.name: getattr(obj, f.name) for f in spec.fields}
        for name in spec.required:
            if values.get(name) in (None, "") and name not in row.errors:
                row.errors[name] = _("The cell is empty: fill in « %(header)s », it is mandatory.", header=label_of(name))
        if rule:
            for name, message in rule(values, tenant_id, obj.id).items():
                row.errors.setdefault(name, message)
    return results


def _forget(objects) -> None:
    """Drop a checked chunk's changes from the session (a dry run, or after an error)."""
    for obj in objects:
        if obj in db.session.new:
            db.session.expunge(obj)
        elif obj in db.session:
            db.session.expire(obj)


def _keep_rows() -> int:
    return current_app.config.get("IMPORT_MAX_SHOWN_ROWS", 200) if has_app_context() else 200


def _check_and_write(spec: TableSpec, table: Table, tenant_id: int, dry_run: bool, singleton=None,
                     empty_is_error: bool = True) -> ImportReport:
    """Check every row, chunk by chunk; while no row has an error and not ``dry_run``,
    write each chunk (flushed). The caller rolls back when the report is not ok."""
    report = ImportReport(columns=spec.fields, keep=_keep_rows())
    mapping, report.file_errors = spec.header_map(table.headers)
    if report.file_errors:
        return report
    progress = _Progress()
    size = 10 ** 9 if spec.refers_to_itself else CHUNK_ROWS  # a table referring to itself: one chunk
    for chunk in chunks(_parsed_rows(spec, table, mapping), size):
        results = _check_chunk(spec, chunk, tenant_id, progress, singleton)
        for row, _obj in results:
            report.add(row)
        objects = [obj for _row, obj in results]
        if report.ok and not dry_run:
            report.changed += sum(1 for obj in objects if obj.id is None or db.session.is_modified(obj))
            db.session.add_all(objects)
            db.session.flush()
        else:
            _forget(objects)
    if not report.row_count and not report.file_errors and empty_is_error:
        report.file_errors.append(_("The file has no data row."))
    return report


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
    (flushed; the caller commits). On any error nothing is written, inside a savepoint:
    what the caller flushed before stays."""
    try:
        table = read_table(data, filename)
    except UnreadableFile as error:
        return ImportReport(columns=spec.fields, file_errors=[str(error)])
    return import_rows(spec, table, tenant_id, dry_run)


def import_rows(spec: TableSpec, table: Table, tenant_id: int, dry_run: bool = False, singleton=None,
                empty_is_error: bool = True) -> ImportReport:
    """``import_table`` for a table already read (a sheet of a workbook); ``singleton``: the
    row a table without codes updates; ``empty_is_error`` False: a table may have no row
    (a workbook's sheet of an empty table)."""
    savepoint = db.session.begin_nested()  # an error undoes the import, never the caller's work
    bulk = audited_in_bulk.set(True)  # exchanges.md: an import is audited once, not field by field
    try:
        with db.session.no_autoflush:
            report = _check_and_write(spec, table, tenant_id, dry_run, singleton, empty_is_error)
            db.session.flush()
    except UnreadableFile as error:
        savepoint.rollback()
        return ImportReport(columns=spec.fields, file_errors=[str(error)])
    except (IntegrityError, DataError) as error:  # a last resort: the checks should have refused it
        savepoint.rollback()
        return ImportReport(columns=spec.fields, file_errors=[
            _("The database refused the rows: %(error)s", error=str(error.orig)[:300])])
    finally:
        audited_in_bulk.reset(bulk)
    if not report.ok or dry_run:
        savepoint.rollback()
        return report
    if report.changed:
        audit_in_one_entry(tenant_id, spec.model.__tablename__, "import", _(
            "Import: %(create)s created, %(update)s updated.", create=report.count("create"),
            update=report.count("update")))
    savepoint.commit()
    report.written = True
    return report
