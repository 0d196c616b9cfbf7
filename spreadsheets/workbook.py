"""The parameters workbook (parameters.md, "Parameters workbook"): every parameter table
of the current tenant as one sheet of its export, the dossier settings as a sheet of
two columns (setting, value), and the import of such a workbook, all sheets or none.

Each sheet goes through the table catalogue and the table import (the same headers,
cell parsers, closed lists, relations by code and row rules as a one-table import).
The import checks every sheet in dependency order (families before subfamilies,
credit-note codes before the codes that point at them) before writing anything: each
sheet is checked against the tenant's rows and the rows of the sheets before it (one
``ImportBatch``). Only when no sheet has an error, and not in a dry run, are they all
written, in one savepoint: one bulk insert and one executemany update per table.
"""
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy.exc import DataError, IntegrityError

from core.extensions import db
from models import DossierSettings
from rules.templates import PARAMETER_MODELS
from spreadsheets import catalog, cells, xlsx
from spreadsheets.fast_reader import open_xlsx
from spreadsheets.importer import ImportBatch, ImportReport, audit_import, check_table, write_rows
from spreadsheets.reader import Formula, Table, UnreadableFile

SETTINGS = "dossier-settings"
SHEET_NAME_LENGTH = 31  # Excel's limit
FORBIDDEN_IN_SHEET_NAMES = str.maketrans({character: " " for character in "[]:*?/\\"})


def parameter_tables() -> list[catalog.Table]:
    """The catalogue's parameter tables in dependency order (a table after those it refers to)."""
    order = [table.name for table in db.metadata.sorted_tables]
    names = {model.__tablename__ for model in PARAMETER_MODELS}
    tables = [table for table in catalog.tables().values()
              if table.model is not None and table.model.__tablename__ in names]
    return sorted(tables, key=lambda table: order.index(table.model.__tablename__))


def sheet_name(table: catalog.Table) -> str:
    return str(table.screen.name).translate(FORBIDDEN_IN_SHEET_NAMES).strip()[:SHEET_NAME_LENGTH]


def _settings_sheet():
    table = catalog.table(SETTINGS)
    columns, rows = table.export_sheet()
    values = next(iter(rows), [None] * len(columns))
    return ([xlsx.Column(_("Setting"), width=45), xlsx.Column(_("Value"), width=40)],
            [(column.header, "" if value is None else value) for column, value in zip(columns, values)])


def write_parameters_workbook(target) -> None:
    """Write the current tenant's parameters workbook to ``target`` (a path or a file)."""
    sheets = [(sheet_name(table), *table.export_sheet()) for table in parameter_tables()]
    settings_columns, settings_rows = _settings_sheet()
    sheets.append((sheet_name(catalog.table(SETTINGS)), settings_columns, settings_rows))
    xlsx.write_workbook(target, sheets)


@dataclass
class WorkbookReport:
    sheets: list[tuple[str, ImportReport]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)   # about the workbook itself (unknown sheets…)
    written: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors and all(report.ok for _name, report in self.sheets)

    def messages(self) -> list[str]:
        lines = list(self.errors)
        for name, report in self.sheets:
            lines += [f"{name} — {message}" for message in report.messages()]
        return lines


def _as_table(sheet) -> Table:
    """A sheet read by calamine as the import's ``Table`` (formula cells kept as formulas)."""
    rows = sheet.rows or [[]]
    headers = ["" if value is None else str(value).strip() for value in rows[0]]

    def body():
        formulas = sheet.formula_cells
        for number, values in enumerate(rows[1:], start=2):
            if formulas:
                values = [Formula(str(value)) if (number, index) in formulas else value
                          for index, value in enumerate(values)]
            if any(not cells.is_blank(value) for value in values):
                yield number, values
    return Table(headers, body())


def _settings_table(sheet) -> Table:
    """The (setting, value) sheet turned back into the one-row table of the settings."""
    pairs = [(row[0], row[1] if len(row) > 1 else None) for row in (sheet.rows or [])[1:] if row and row[0]]
    headers = ["" if name is None else str(name).strip() for name, _value in pairs]
    return Table(headers, iter([(2, [value for _name, value in pairs])]))


def _sheets_by_table(workbook, report: WorkbookReport) -> dict[str, object]:
    tables = {**{table.name: table for table in parameter_tables()}, SETTINGS: catalog.table(SETTINGS)}
    spellings = {}
    for name, table in tables.items():
        for spelling in (name, sheet_name(table)):
            spellings[cells.fold(str(spelling))] = name
    found = {}
    for index, name in enumerate(workbook.sheets):
        table_name = spellings.get(cells.fold(name))
        if table_name is None:
            report.errors.append(_("Unknown sheet « %(sheet)s »: the sheets are named after the parameter "
                                   "tables.", sheet=name))
        elif table_name in found:
            report.errors.append(_("Two sheets are for the same table « %(sheet)s ».", sheet=name))
        else:
            found[table_name] = workbook.sheet(index)
    return found


def import_parameters_workbook(data: bytes, tenant_id: int, dry_run: bool = False) -> WorkbookReport:
    """Check every sheet and, when nothing is wrong and not ``dry_run``, write them all
    (flushed; the caller commits). A sheet left out leaves its table as it is."""
    report = WorkbookReport()
    try:
        workbook = open_xlsx(data)
        sheets = _sheets_by_table(workbook, report)
    except UnreadableFile as error:
        report.errors.append(str(error))
        return report
    if report.errors:
        return report
    if not sheets:
        report.errors.append(_("The workbook has no sheet of a parameter table."))
        return report
    batch, checked = ImportBatch(tenant_id, remember=True), []
    with db.session.no_autoflush:
        for table in parameter_tables() + [catalog.table(SETTINGS)]:
            sheet = sheets.get(table.name)
            if sheet is not None:
                spec = table.import_spec()
                result, rows = _check_sheet(table, spec, sheet, batch)
                report.sheets.append((sheet.name, result))
                checked.append((spec, result, rows))
    if report.ok and not dry_run:
        _write_sheets(checked, batch, report)
    return report


def _check_sheet(table, spec, sheet, batch: ImportBatch):
    if table.name == SETTINGS:
        settings = db.session.query(DossierSettings).filter_by(tenant_id=batch.tenant_id).one()
        return check_table(spec, _settings_table(sheet), batch, singleton=settings)
    return check_table(spec, _as_table(sheet), batch, empty_is_error=False)


def _write_sheets(checked: list, batch: ImportBatch, report: WorkbookReport) -> None:
    """Every sheet written (all were checked), in dependency order, inside one savepoint:
    a refusal of the database undoes them all, never the caller's work."""
    savepoint = db.session.begin_nested()
    try:
        for spec, result, rows in checked:
            result.changed = write_rows(spec, rows, batch)
            audit_import(spec, result, batch.tenant_id)
    except (IntegrityError, DataError) as error:  # a last resort: the checks should have refused it
        savepoint.rollback()
        report.errors.append(_("The database refused the rows: %(error)s", error=str(error.orig)[:300]))
        return
    savepoint.commit()
    for _spec, result, _rows in checked:
        result.written = True
    report.written = True
