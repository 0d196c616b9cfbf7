"""Importing a table from a spreadsheet: the inverse of its export.

Headers are the export's (French or English) headers or the field names;
relations are given by code; rows are created or updated by code. Every row is
checked with the same rules as the screens, every error is reported by row and
column, and the file is imported whole or not at all.
"""
import itertools
from dataclasses import dataclass, field
from functools import lru_cache

from flask import current_app, has_app_context
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import bindparam, inspect, select, update
from sqlalchemy.exc import DataError, IntegrityError

from core.audit import audit_in_one_entry, audited_in_bulk
from core.batching import chunks
from core.bulk import fast_insert
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
        ignored = {spelling for f in self.read_only for spelling in _field_spellings(f.name)}
        known = {spelling: f for f in self.fields for spelling in _field_spellings(f.name)}
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


def _parser(spec: TableSpec, f: Field):
    """How a column's cells are read: (the value of a blank cell, the function typing any
    other cell within the column's limits — ``spreadsheets.cells`` — or raising
    ValueError with the user's message, and for a column of text its limits, so that a
    text cell is read in line). Chosen once per column, not per cell."""
    if f.kind == xlsx.BOOLEAN and not f.relation and f.name not in spec.choices:
        return False, cells.parse_bool, None
    blank = False if f.kind == xlsx.BOOLEAN else (
        "" if f.kind == xlsx.TEXT and not f.relation and f.name not in spec.choices else None)
    if f.relation:
        limits = spec.relation_limits[f.name]
        return blank, lambda raw: cells.parse_text(raw, limits), limits
    if f.name in spec.choices:
        return blank, _choice_parser(spec.choices[f.name]), None
    limits = spec.limits[f.name]
    if f.kind in (xlsx.MONEY, xlsx.DECIMAL):
        return blank, lambda raw: cells.parse_decimal(raw, limits), None
    if f.kind == xlsx.INTEGER:
        return blank, lambda raw: cells.parse_integer(raw, limits), None
    if f.kind == xlsx.DATE:
        return blank, cells.parse_date, None
    if f.kind == xlsx.DATETIME:
        return blank, cells.parse_datetime, None
    return blank, lambda raw: cells.parse_text(raw, limits), limits


def _spellings(name: str, label) -> set[str]:
    """How a column or a value may be written: its code name, its French and English labels."""
    spellings = {cells.fold(name)}
    for locale in ("fr", "en"):
        with force_locale(locale):
            spellings.add(cells.fold(str(label)))
    return spellings


@lru_cache(maxsize=1024)
def _field_spellings(name: str) -> frozenset[str]:
    """``_spellings`` of a field, computed once per field rather than at every import."""
    return frozenset(_spellings(name, label_of(name)))


@lru_cache(maxsize=256)
def _choice_spellings(values: tuple) -> dict[str, str]:
    """Every spelling of a closed list's values (codes, French and English labels) → value,
    computed once per list rather than for every cell."""
    return {spelling: value for value in reversed(values)
            for spelling in _spellings(value, CHOICE_LABELS.get(value, value))}


def _choice_parser(values):
    """The parser of a closed list's cells: a text cell's value found once per distinct
    text (a column repeats a few values), not folded again for every cell."""
    spellings, known = _choice_spellings(tuple(values)), {}

    def parse(raw):
        if raw.__class__ is str and raw in known:
            return known[raw]
        found = spellings.get(cells.fold(cells.clean_text(raw)))
        if found is None:
            raise ValueError(_("« %(value)s » is not one of: %(values)s.", value=cells.clean_text(raw),
                               values=", ".join(values)))
        if raw.__class__ is str:
            known[raw] = found
        return found
    return parse


LOOKUP_BATCH = 5000  # codes per query: far below PostgreSQL's 65,535 bound parameters


def rows_by_code(model, tenant_id: int, codes) -> dict:
    """The tenant's rows of ``model`` whose code is in ``codes``, by code, looked up
    ``LOOKUP_BATCH`` codes at a time whatever the number of codes."""
    found = {}
    for chunk in chunks(sorted(set(codes)), LOOKUP_BATCH):
        found.update((row.code, row) for row in db.session.execute(
            select(model).where(model.tenant_id == tenant_id, model.code.in_(chunk))).scalars())
    return found


def _code_column(model, relation: str):
    return inspect(model).relationships[relation].mapper.class_.__table__.c.code


def _targets(spec: TableSpec, f: Field):
    return inspect(spec.model).relationships[f.name].mapper.class_


def _foreign_key(model, relation: str) -> str:
    """The column holding the id of the row ``relation`` points at."""
    (local, _remote), = inspect(model).relationships[relation].local_remote_pairs
    return local.key


def _table_rows(model, tenant_id: int, column: str, keys) -> list[dict]:
    """The tenant's rows of ``model`` whose ``column`` is in ``keys``, as dicts of their
    columns (Core rows, no ORM object), ``LOOKUP_BATCH`` keys per query."""
    table = model.__table__
    found = []
    for chunk in chunks(sorted(set(keys)), LOOKUP_BATCH):
        query = select(table).where(table.c[column].in_(chunk))
        if "tenant_id" in table.c:
            query = query.where(table.c.tenant_id == tenant_id)
        found += [dict(row) for row in db.session.execute(query).mappings()]
    return found


def _tenant_rows(model, tenant_id: int, *columns: str) -> list[dict]:
    """Every row of the tenant in ``model`` (``columns`` only when given), as dicts."""
    table = model.__table__
    query = select(*(table.c[name] for name in columns)) if columns else select(table)
    return [dict(row) for row in db.session.execute(query.where(table.c.tenant_id == tenant_id)).mappings()]


def _stand_in(model, columns: dict):
    """A row as the row rules read it (its columns as attributes): a transient object,
    never added to the session, built only for the rows a relation points at."""
    return model(**columns)


def _validated(validators, values: dict) -> dict:
    """``values`` through the model's ``@validates`` methods (``inspect(model).validators``),
    as setting them on an object would (a SIRET compacted, a country as its code). They
    use their value only."""
    for name in validators.keys() & values.keys():
        method, _options = validators[name]
        values[name] = method(None, name, values[name])
    return values


CHUNK_ROWS = 5000  # rows checked (and written) together: memory stays bounded whatever the file


@dataclass
class _Checked:
    """One row of the file once checked: its columns in the database (None: a row to
    create), its plain values and its relations (field → the row pointed at, or None)."""

    row: RowResult
    existing: dict | None
    plain: dict
    relations: dict = field(default_factory=dict)
    stand_in: object = None


class ImportBatch:
    """What the tables of one import share: the rows checked so far by table and code
    (relations point at them before anything is written: a table's own rows, a
    workbook's earlier sheets), the first row of each code, and the ids of the rows
    created. ``remember``: keep every row checked (a workbook); else only those of a
    table referring to itself (one chunk), so that a large file stays in bounded memory."""

    def __init__(self, tenant_id: int, remember: bool = False):
        self.tenant_id = tenant_id
        self.remember = remember
        self.checked: dict = {}
        self.first_row: dict = {}
        self.created_ids: dict = {}
        self._provisional_ids = itertools.count(-1, -1)

    def created_id(self, model, code: str) -> int:
        """The id of a row this import created, read (with the table's others) when first needed."""
        ids = self.created_ids.get(model)
        if ids is None or code not in ids:
            ids = self.created_ids[model] = {row["code"]: row["id"] for row in _tenant_rows(
                model, self.tenant_id, "id", "code")}
        return ids[code]

    def stand_in(self, model, checked: _Checked):
        """The row pointed at as the rules see it: its columns in the database, then its
        values and relations in the file. A row to create has a provisional id below
        zero (``is_created``), so that the rules comparing ids (a subfamily's family, a
        sequence's establishment) compare rows of this import too."""
        if checked.stand_in is None:
            columns = dict(checked.existing or {"tenant_id": self.tenant_id, "id": next(self._provisional_ids)})
            columns.update(checked.plain)
            for name, target in checked.relations.items():
                columns[_foreign_key(model, name)] = None if target is None else target.id
            checked.stand_in = _stand_in(model, columns)
        return checked.stand_in


def is_created(stand_in) -> bool:
    """Whether a stand-in is of a row this import creates (not written yet)."""
    return stand_in.id < 0


def _parsed_rows(spec: TableSpec, table: Table, mapping: dict):
    """(row number, typed values, errors) of every row: a formula, or a cell its parser
    refuses, is the cell's error."""
    plan = [(index, f.name, *_parser(spec, f)) for index, f in mapping.items()]
    is_blank = cells.is_blank
    for number, raw_cells in table.rows:
        values, errors, width = {}, {}, len(raw_cells)
        for index, name, blank, parse, text in plan:
            raw = raw_cells[index] if index < width else None
            if text is not None and raw.__class__ is str:  # most cells: cleaned once, as parse_text does
                value = raw.replace("\x00", "").strip()
                if not value:
                    values[name] = blank
                    continue
                if text.max_length is None or len(value) <= text.max_length:
                    values[name] = value
                    continue
            if isinstance(raw, Formula):
                errors[name] = _("formulas are not imported: type the value itself.")
            elif is_blank(raw):
                values[name] = blank
            else:
                try:
                    values[name] = parse(raw)
                except ValueError as error:
                    errors[name] = str(error)
        yield number, values, errors


def check_rows(spec: TableSpec, parsed_rows: list, batch: ImportBatch, singleton=None) -> list[_Checked]:
    """Check the rows of one chunk against the database as it is and the rows of
    ``batch``, writing nothing: a list of ``_Checked``. A table without codes has one row,
    which updates ``singleton``."""
    model, tenant_id = spec.model, batch.tenant_id
    if singleton is not None:
        existing = {"": row for row in _table_rows(model, tenant_id, "id", [singleton.id])}
    elif spec.keyed_by_code and batch.remember:  # a workbook's sheet: the whole table, one query
        existing = {row["code"]: row for row in _tenant_rows(model, tenant_id)}
    elif spec.keyed_by_code:
        existing = {row["code"]: row for row in _table_rows(
            model, tenant_id, "code", [values["code"] for _n, values, _e in parsed_rows if values.get("code")])}
    else:
        existing = {}
    remembered = batch.checked.setdefault(model, {}) if batch.remember or spec.refers_to_itself else None
    first_row = batch.first_row.setdefault(model, {})
    relations = {f.name for f in spec.fields if f.relation}
    validators = inspect(model).validators
    results = []
    for number, values, errors in parsed_rows:
        code = "" if singleton is not None else str(values.get("code") or "")
        if code and code in first_row:
            errors["code"] = _("The code %(code)s is already on row %(row)s of the file.",
                               code=code, row=first_row[code])
        first_row.setdefault(code, number)
        found = existing.get(code)
        plain = {name: value for name, value in values.items() if name not in relations and name not in errors}
        if validators:
            _validated(validators, plain)
        checked = _Checked(RowResult(number, code, "update" if found else "create", values, errors), found, plain)
        if remembered is not None and code and "code" not in errors:
            remembered[code] = checked
        results.append(checked)
    _resolve_relations(spec, results, batch)
    _apply_rules(spec, results, batch)
    return results


def _resolve_relations(spec: TableSpec, results: list[_Checked], batch: ImportBatch) -> None:
    """Codes turned into the rows they name (rows of this import first, then the
    tenant's, in one query per relation); an unknown code is the cell's error."""
    for f in spec.fields:
        if not f.relation:
            continue
        target = _targets(spec, f)
        given = [checked for checked in results if f.name in checked.row.cells and f.name not in checked.row.errors]
        codes = {checked.row.cells[f.name] for checked in given if checked.row.cells[f.name] is not None}
        in_batch = batch.checked.get(target, {})
        found = {code: batch.stand_in(target, in_batch[code]) for code in codes & in_batch.keys()}
        found.update((row["code"], _stand_in(target, row)) for row in _table_rows(
            target, batch.tenant_id, "code", codes - found.keys()))
        for checked in given:
            code = checked.row.cells[f.name]
            if code is not None and code not in found:
                checked.row.errors[f.name] = _("Unknown code %(code)s.", code=code)
            else:
                checked.relations[f.name] = target_row = found.get(code)
                if checked.stand_in is not None:  # pointed at before its relations were known
                    setattr(checked.stand_in, _foreign_key(spec.model, f.name),
                            None if target_row is None else target_row.id)


def _apply_rules(spec: TableSpec, results: list[_Checked], batch: ImportBatch) -> None:
    """The mandatory cells and the row rules, on the row's values as they would be
    saved (the file's, else the database's)."""
    rule = ROW_RULES.get(spec.model)
    current = _current_relations(spec, results, batch)
    for checked in results:
        existing = checked.existing or {}
        values = {}
        for f in spec.fields:
            if f.relation:
                values[f.name] = (checked.relations[f.name] if f.name in checked.relations
                                  else current[f.name].get(existing.get(_foreign_key(spec.model, f.name))))
            else:
                values[f.name] = checked.plain[f.name] if f.name in checked.plain else existing.get(f.name)
        for name in spec.required:
            if values.get(name) in (None, "") and name not in checked.row.errors:
                checked.row.errors[name] = _("The cell is empty: fill in « %(header)s », it is mandatory.",
                                             header=label_of(name))
        if rule:
            for name, message in rule(values, batch.tenant_id, existing.get("id")).items():
                checked.row.errors.setdefault(name, message)


def _current_relations(spec: TableSpec, results: list[_Checked], batch: ImportBatch) -> dict:
    """For each relation the file leaves as it is: id → the row the database points at."""
    current = {}
    for f in spec.fields:
        if not f.relation:
            continue
        key = _foreign_key(spec.model, f.name)
        ids = {checked.existing[key] for checked in results
               if checked.existing and f.name not in checked.relations and checked.existing.get(key)}
        target = _targets(spec, f)
        current[f.name] = {row["id"]: _stand_in(target, row) for row in _table_rows(target, batch.tenant_id, "id", ids)}
    return current


def write_rows(spec: TableSpec, results: list[_Checked], batch: ImportBatch) -> int:
    """Write checked rows (all valid): the new ones with one bulk insert, the changed ones
    with one executemany update, relations to rows created by the same table set once
    these exist. Returns how many rows were created or changed."""
    model = spec.model
    table = model.__table__
    creates, updates, links = [], [], []
    for checked in results:
        columns = dict(checked.plain)
        for name, target in checked.relations.items():
            key = _foreign_key(model, name)
            columns[key] = _target_id(model, inspect(model).relationships[name].mapper.class_, target, batch)
            if target is not None and is_created(target) and columns[key] is None:
                links.append((checked, key, target.code))
        if checked.existing is None:
            creates.append({"tenant_id": batch.tenant_id, **columns})
        elif any(checked.existing.get(key) != value for key, value in columns.items()):
            updates.append({"_row_id": checked.existing["id"], **columns})
    connection = db.session.connection()
    fast_insert(table, creates)
    batch.created_ids.pop(model, None)  # read again when a row points at a created one
    if updates:
        connection.execute(update(table).where(table.c.id == bindparam("_row_id")), updates)
    _link(model, links, batch)
    if creates or updates:
        _expire_loaded(model)
    return len(creates) + len(updates)


def _target_id(model, target_model, target, batch: ImportBatch):
    """The id a relation's column takes: the row's, or the one it was created with by
    this import; None for a row of the same table not created yet (linked after)."""
    if target is None or not is_created(target):
        return None if target is None else target.id
    if target_model is model:
        return None
    return batch.created_id(target_model, target.code)


def _link(model, links: list, batch: ImportBatch) -> None:
    """Point rows at rows of their own table created in the same insert."""
    by_column: dict = {}
    for checked, key, code in links:
        row_id = checked.existing["id"] if checked.existing else batch.created_id(model, checked.row.code)
        by_column.setdefault(key, []).append({"_row_id": row_id, key: batch.created_id(model, code)})
    for key, rows in by_column.items():
        db.session.connection().execute(update(model.__table__).where(model.__table__.c.id == bindparam("_row_id")),
                                        rows)


def _expire_loaded(model) -> None:
    """Rows of ``model`` the session holds are stale once written without it."""
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, model):
            db.session.expire(obj)


def _keep_rows() -> int:
    return current_app.config.get("IMPORT_MAX_SHOWN_ROWS", 200) if has_app_context() else 200


def check_table(spec: TableSpec, table: Table, batch: ImportBatch, singleton=None, empty_is_error: bool = True,
                write: bool = False) -> tuple[ImportReport, list[_Checked]]:
    """Check every row, chunk by chunk; with ``write``, write each chunk while no row has
    an error (the caller rolls back when the report is not ok). Returns the report and,
    unless written, the checked rows for ``write_rows``."""
    report = ImportReport(columns=spec.fields, keep=_keep_rows())
    mapping, report.file_errors = spec.header_map(table.headers)
    if report.file_errors:
        return report, []
    kept = []
    size = 10 ** 9 if spec.refers_to_itself or batch.remember else CHUNK_ROWS  # one chunk: rows point at rows
    for chunk in chunks(_parsed_rows(spec, table, mapping), size):
        results = check_rows(spec, chunk, batch, singleton)
        for checked in results:
            report.add(checked.row)
        if not report.ok:
            continue
        if write:
            report.changed += write_rows(spec, results, batch)
        else:
            kept += results
    if not report.row_count and not report.file_errors and empty_is_error:
        report.file_errors.append(_("The file has no data row."))
    return report, kept if report.ok else []


def audit_import(spec: TableSpec, report: ImportReport, tenant_id: int) -> None:
    """The one audit entry of a table's import (exchanges.md: who, what, counts), when it
    changed something."""
    if report.changed:
        audit_in_one_entry(tenant_id, spec.model.__tablename__, "import", _(
            "Import: %(create)s created, %(update)s updated.", create=report.count("create"),
            update=report.count("update")))


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
            report, _checked = check_table(spec, table, ImportBatch(tenant_id), singleton, empty_is_error,
                                           write=not dry_run)
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
    audit_import(spec, report, tenant_id)
    savepoint.commit()
    report.written = True
    return report
