"""A new tenant from a template (parameters.md, "Tenant from a template").

The copy takes the template's parameter tables, its dossier settings and its
connectors, in the caller's transaction, as Core bulk inserts: the audit log gets
one entry saying who copied what from where, not one per copied field. Relations
between the copied rows are re-pointed at the copies (a self-reference, such as a
family's parent or an operation code's credit-note code, in a second pass once
every row of its table has its new id). Numbering sequences restart at 1 (the new
tenant has no documents); connectors come disabled, without their secrets, folders
or URLs, which belong to the template's installation.
"""
from sqlalchemy import insert, select, update

from flask_babel import gettext as _

from core.audit import audit_in_one_entry, audited_in_bulk
from core.extensions import db
from models import (
    AdditionalCostTable, ArticleFamily, ClientFamily, Connector, Depot, DocumentTitle,
    DossierSettings, Establishment, NumberingSequence, OperationCode, PriceCategory, ProductNature, Sector,
    SupplierFamily, Tenant, TextCode, Unit, User, VatRate,
)
from models.base import utcnow
from rules.tenancy import create_tenant

PARAMETER_MODELS = (
    DocumentTitle, OperationCode, Establishment, NumberingSequence, ProductNature, ArticleFamily, Unit,
    PriceCategory, Depot, Sector, ClientFamily, SupplierFamily, VatRate, TextCode, AdditionalCostTable,
)
# Counters of a numbering sequence: the new tenant starts with no documents.
RESTARTED = {"numbering_sequences": {"next_number": 1, "highest_number_used": 0, "last_document_date": None}}


def _foreign_tables(column) -> set[str]:
    return {key.column.table.name for key in column.foreign_keys}


def _copy_table(table, template_id: int, tenant_id: int, new_ids: dict[str, dict[int, int]]) -> int:
    """Copy the template's rows of ``table``; records ``{old id: new id}`` in ``new_ids``."""
    rows = db.session.execute(select(table).where(table.c.tenant_id == template_id).order_by(table.c.id)).all()
    if not rows:
        new_ids[table.name] = {}
        return 0
    self_references = [c.name for c in table.columns if table.name in _foreign_tables(c)]
    copies = []
    for row in rows:
        values = dict(row._mapping)
        values.pop("id")
        values["tenant_id"] = tenant_id
        for column in table.columns:
            targets = _foreign_tables(column) & new_ids.keys()
            if targets and values.get(column.name) is not None:
                values[column.name] = new_ids[targets.pop()].get(values[column.name])
        values.update({name: None for name in self_references})
        values.update(RESTARTED.get(table.name, {}))
        copies.append(values)
    created = db.session.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), copies)
    mapping = {row.id: new_id for row, (new_id,) in zip(rows, created)}
    new_ids[table.name] = mapping
    for name in self_references:
        for row in rows:
            old_target = row._mapping[name]
            if old_target is not None:
                db.session.execute(update(table).where(table.c.id == mapping[row.id])
                                   .values({name: mapping.get(old_target)}))
    return len(rows)


def _copy_settings(template_id: int, tenant_id: int, new_ids: dict) -> None:
    table = DossierSettings.__table__
    source = db.session.execute(select(table).where(table.c.tenant_id == template_id)).first()
    if source is None:
        return
    values = {}
    for column in table.columns:
        if column.name in ("id", "tenant_id"):
            continue
        value = source._mapping[column.name]
        targets = _foreign_tables(column) & new_ids.keys()
        values[column.name] = new_ids[targets.pop()].get(value) if targets and value is not None else value
    db.session.execute(update(table).where(table.c.tenant_id == tenant_id).values(values))


def _portable_settings(settings: dict | None) -> dict:
    """A connector's settings without what belongs to the template's installation: its
    folders and URLs (``exchanges.md`` names them ``*_folder`` and ``*_url``; secrets are
    in their own column, never copied)."""
    return {name: None if name.endswith(("_folder", "_url")) else value for name, value in (settings or {}).items()}


def _copy_connectors(template_id: int, tenant_id: int) -> int:
    table = Connector.__table__
    rows = db.session.execute(select(table).where(table.c.tenant_id == template_id).order_by(table.c.id)).all()
    if rows:
        db.session.execute(insert(table), [
            {"tenant_id": tenant_id, "code": row.code, "label": row.label, "kind": row.kind, "enabled": False,
             "settings": _portable_settings(row.settings), "secrets": None, "import_folder": None, "created_at": utcnow()}
            for row in rows])
    return len(rows)


def copy_tenant(template: Tenant, code: str, name: str, admin_user: User | None = None) -> Tenant:
    """A new tenant with a copy of ``template``'s parameters, settings and connectors
    (flushed, in the caller's transaction; ``TenancyError`` for a bad code)."""
    bulk = audited_in_bulk.set(True)
    try:
        tenant = create_tenant(code, name, admin_user)
        new_ids: dict[str, dict[int, int]] = {}
        names = {model.__tablename__ for model in PARAMETER_MODELS}
        copied = sum(_copy_table(table, template.id, tenant.id, new_ids)
                     for table in db.metadata.sorted_tables if table.name in names)
        _copy_settings(template.id, tenant.id, new_ids)
        connectors = _copy_connectors(template.id, tenant.id)
        audit_in_one_entry(tenant.id, "tenants", "copy", row_id=tenant.id, row_code=tenant.code, text=_(
            "Copied from %(template)s: %(rows)s parameter rows, the dossier settings, %(connectors)s "
            "connectors (disabled, without secrets, folders or URLs).", template=template.code, rows=copied,
            connectors=connectors))
        db.session.flush()
        return tenant
    finally:
        audited_in_bulk.reset(bulk)
