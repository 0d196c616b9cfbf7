"""Rules of the parameter tables (``parameters.md``)."""
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import func, select

from core.extensions import db
from core.glossary import SETTINGS_LABELS, TABLE_LABELS, label_of
from models import ArticleFamily, DossierSettings, NumberingSequence, OperationCode, ProductNature, VatRate
from models.enums import GAPLESS_DOCUMENT_TYPES

Errors = dict[str, str]
CREDIT_NOTE_REQUIRED_TYPES = ("invoice", "down_payment")


def code_errors(model, values: dict, tenant_id: int, row_id: int | None) -> Errors:
    """The code is mandatory and unique in the tenant."""
    code = (values.get("code") or "").strip()
    if not code:
        return {"code": _("The code is mandatory.")}
    query = select(model.id).where(model.tenant_id == tenant_id, model.code == code)
    if row_id is not None:
        query = query.where(model.id != row_id)
    if db.session.execute(query.limit(1)).first():
        return {"code": _("The code %(code)s already exists in this dossier.", code=code)}
    return {}


def operation_code_errors(values: dict, tenant_id: int, row_id: int | None) -> Errors:
    """Invoice and down-payment codes need a credit-note code of type credit note, same tenant."""
    credit_note = values.get("credit_note_operation_code")
    if credit_note is None:
        if values.get("document_type") in CREDIT_NOTE_REQUIRED_TYPES:
            return {"credit_note_operation_code": _(
                "An invoice or down-payment operation code needs a credit-note operation code.")}
        return {}
    if credit_note.tenant_id != tenant_id:
        return {"credit_note_operation_code": _("This operation code belongs to another dossier.")}
    if row_id is not None and credit_note.id == row_id:
        return {"credit_note_operation_code": _("An operation code cannot be its own credit-note code.")}
    if credit_note.document_type != "credit_note":
        return {"credit_note_operation_code": _(
            "The credit-note operation code %(code)s is not of type credit note.", code=credit_note.code)}
    return {}


def numbering_sequence_errors(values: dict, tenant_id: int, row_id: int | None) -> Errors:
    errors: Errors = {}
    document_type = values.get("document_type")
    establishment = values.get("establishment")
    establishment_id = establishment.id if establishment is not None else None
    query = select(NumberingSequence.code).where(
        NumberingSequence.tenant_id == tenant_id,
        NumberingSequence.document_type == document_type,
        func.coalesce(NumberingSequence.establishment_id, 0) == (establishment_id or 0),
    )
    if row_id is not None:
        query = query.where(NumberingSequence.id != row_id)
    twin = db.session.execute(query.limit(1)).scalar()
    if twin:
        errors["document_type"] = _(
            "The sequence %(code)s already numbers this document type for this establishment.", code=twin)
    if document_type in GAPLESS_DOCUMENT_TYPES and not values.get("gapless"):
        errors["gapless"] = _("Invoice and credit-note sequences must be gapless.")
    next_number = values.get("next_number")
    if next_number is None or next_number < 1:
        errors["next_number"] = _("The next number must be at least 1.")
    elif row_id is not None:
        used = db.session.execute(
            select(NumberingSequence.highest_number_used).where(NumberingSequence.id == row_id)
        ).scalar() or 0
        if next_number <= used:
            errors["next_number"] = _(
                "Number %(used)s has already been used: the next number must be above it.", used=used)
    padding = values.get("padding")
    if padding is None or not 0 <= padding <= 20:
        errors["padding"] = _("The number of digits must be between 0 and 20.")
    elif len(values.get("prefix") or "") + padding > 35 and document_type in GAPLESS_DOCUMENT_TYPES:
        errors["padding"] = _("An invoice or credit-note number has 35 characters at most (prefix and digits).")
    if document_type in GAPLESS_DOCUMENT_TYPES:  # invoicing.md: their prefixes differ
        other = "credit_note" if document_type == "invoice" else "invoice"
        same = db.session.execute(select(NumberingSequence.code).where(
            NumberingSequence.tenant_id == tenant_id, NumberingSequence.document_type == other,
            NumberingSequence.prefix == (values.get("prefix") or "")).limit(1)).scalar()
        if same:
            errors.setdefault("prefix", _(
                "The sequence %(code)s has this prefix: invoices and credit notes need different prefixes.",
                code=same))
    return errors


def vat_rate_errors(values: dict, tenant_id: int, row_id: int | None) -> Errors:
    rate = values.get("rate")
    if rate is None or not Decimal(0) <= Decimal(rate) <= Decimal(100):
        return {"rate": _("The VAT rate must be between 0 and 100.")}
    return {}


def product_nature_errors(values: dict, tenant_id: int, row_id: int | None) -> Errors:
    coefficient = values.get("overhead_coefficient")
    if coefficient is not None and coefficient <= 0:
        return {"overhead_coefficient": _("The coefficient must be greater than 0.")}
    return {}


def article_family_errors(values: dict, tenant_id: int, row_id: int | None) -> Errors:
    parent = values.get("parent")
    if parent is None:
        return {}
    if row_id is not None and parent.id == row_id:
        return {"parent": _("A family cannot be its own parent.")}
    if parent.parent_id is not None:
        return {"parent": _("A subfamily cannot have subfamilies: choose a family.")}
    return {}


def settings_references(row) -> list[str]:
    """Labels of the dossier settings of the row's tenant that point at ``row``."""
    table = row.__table__
    columns = [
        column for column in DossierSettings.__table__.columns
        if any(fk.column.table is table for fk in column.foreign_keys)
    ]
    if not columns:
        return []
    settings = db.session.execute(
        select(DossierSettings).where(DossierSettings.tenant_id == row.tenant_id)
    ).scalar_one_or_none()
    if settings is None:
        return []
    return [
        str(SETTINGS_LABELS[column.name.removesuffix("_id")])
        for column in columns if getattr(settings, column.name) == row.id
    ]


def deletion_errors(row) -> list[str]:
    """Why ``row`` cannot be deleted: dossier settings or other rows refer to it."""
    settings = settings_references(row)
    if settings:
        return [_("%(code)s is used by the dossier settings: %(settings)s.",
                  code=row.code, settings=", ".join(settings))]
    messages = []
    for table in db.metadata.sorted_tables:
        if table is DossierSettings.__table__ or table.name == "audit_log":
            continue
        for column in table.columns:
            if any(fk.column.table is row.__table__ for fk in column.foreign_keys):
                used = db.session.execute(
                    select(table.c.id).where(column == row.id).limit(1)).first()
                if used:
                    messages.append(_("%(code)s is still used in %(table)s (%(field)s).",
                                      code=row.code, table=TABLE_LABELS.get(table.name, table.name),
                                      field=label_of(column.name.removesuffix("_id"))))
    return messages


# model → row rule, run by the screens on save and by the import on every row. The rules
# of other modules are merged in below (they do not import this module: no cycle).
ROW_RULES = {
    OperationCode: operation_code_errors,
    NumberingSequence: numbering_sequence_errors,
    VatRate: vat_rate_errors,
    ProductNature: product_nature_errors,
    ArticleFamily: article_family_errors,
}

from rules.master_data import MASTER_DATA_ROW_RULES  # noqa: E402

ROW_RULES.update(MASTER_DATA_ROW_RULES)

from rules.invoices import INVOICE_ROW_RULES  # noqa: E402

ROW_RULES.update(INVOICE_ROW_RULES)

from rules.mappings import MAPPING_ROW_RULES  # noqa: E402

ROW_RULES.update(MAPPING_ROW_RULES)

from models.base import TenantScoped  # noqa: E402
from rules.formats import add_format_checks  # noqa: E402

add_format_checks(ROW_RULES, [mapper.class_ for mapper in db.Model.registry.mappers
                              if issubclass(mapper.class_, TenantScoped)])
