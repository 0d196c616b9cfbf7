"""Importing the ``/admin/article-mappings/`` list: the inverse of its export (connector
code, article code, external code), checked with the same rules as the bulk grid
(``rules.mappings.save_mappings``) and written whole or not at all.

A mapping has no code of its own: a row is the mapping of its article for its connector,
created or changed; an empty external code removes it.
"""
from collections import defaultdict

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import DataError, IntegrityError

from core.extensions import db
from models import Article
from models.exchange import ArticleMapping, Connector
from rules.mappings import MappingError, save_mappings
from spreadsheets.importer import ImportReport, RowResult, TableSpec, _keep_rows, _parsed_rows, rows_by_code
from spreadsheets.reader import UnreadableFile, read_table

FIELDS = ("connector", "article", "external_code")


def mappings_spec() -> TableSpec:
    spec = TableSpec(ArticleMapping, FIELDS)
    spec.required = set(FIELDS)  # the columns; a row may leave its external code empty (removed)
    return spec


def import_mappings(data: bytes, filename: str, tenant_id: int, dry_run: bool = False) -> ImportReport:
    """Check the file and, when every row is valid and not ``dry_run``, write every
    mapping (flushed; the caller commits). On any error nothing is written."""
    spec = mappings_spec()
    try:
        table = read_table(data, filename)
        report = ImportReport(columns=spec.fields, keep=_keep_rows())
        mapping, report.file_errors = spec.header_map(table.headers)
        if report.file_errors:
            return report
        parsed = list(_parsed_rows(spec, table, mapping))
    except UnreadableFile as error:
        return ImportReport(columns=spec.fields, file_errors=[str(error)])
    connectors = rows_by_code(Connector, tenant_id, {v.get("connector") for _n, v, _e in parsed if v.get("connector")})
    articles = rows_by_code(Article, tenant_id, {v.get("article") for _n, v, _e in parsed if v.get("article")})
    existing = set(db.session.execute(select(ArticleMapping.connector_id, ArticleMapping.article_id).where(
        ArticleMapping.tenant_id == tenant_id)).all())

    results, by_connector = [], defaultdict(list)
    for number, values, errors in parsed:
        connector, article = None, None
        for name, found in (("connector", connectors), ("article", articles)):
            code = values.get(name)
            if name in errors:
                continue
            if not code:
                errors[name] = _("The cell is empty: fill in « %(header)s », it is mandatory.",
                                 header=spec_header(spec, name))
            elif code not in found:
                errors[name] = _("Unknown code %(code)s.", code=code)
        if "connector" not in errors:
            connector = connectors[values["connector"]]
        if "article" not in errors:
            article = articles[values["article"]]
        action = "update" if connector and article and (connector.id, article.id) in existing else "create"
        row = RowResult(number, f"{values.get('connector') or ''} / {values.get('article') or ''}", action, values,
                        errors)
        results.append(row)
        if connector is not None and article is not None and "external_code" not in errors:
            by_connector[connector.id].append((row, {"article_id": article.id, "name": str(number),
                                                     "external_code": values.get("external_code") or ""}))
    try:
        with db.session.no_autoflush:
            for connector_id, rows in by_connector.items():
                saved = save_mappings(tenant_id, connector_id, [given for _row, given in rows],
                                      dry_run=dry_run or any(row.errors for row in results))
                for index, message in saved.errors.items():
                    rows[index][0].errors.setdefault(saved.error_fields.get(index, "external_code"), message)
    except MappingError as error:
        db.session.rollback()
        return ImportReport(columns=spec.fields, file_errors=[str(error)])
    except (IntegrityError, DataError) as error:  # a last resort: the checks should have refused it
        db.session.rollback()
        return ImportReport(columns=spec.fields, file_errors=[
            _("The database refused the rows: %(error)s", error=str(error.orig)[:300])])
    for row in results:
        report.add(row)
    if not report.row_count:
        report.file_errors.append(_("The file has no data row."))
    if not report.ok or dry_run:
        db.session.rollback()
        return report
    report.written = True
    return report


def spec_header(spec: TableSpec, name: str) -> str:
    return next(f.column.header for f in spec.fields if f.name == name)
