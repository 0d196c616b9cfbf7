"""Rows of the parameter tables for screen tests, and the screens themselves by URL name."""
from decimal import Decimal

from core.extensions import db
from models import DocumentTitle, NumberingSequence, OperationCode, VatRate
from spreadsheets import catalog
from views.parameters import PARAMETER_SCREENS

# Required columns beyond code and label, by model (all other columns have defaults).
REQUIRED = {
    DocumentTitle: {"document_type": "quote"},
    OperationCode: {"document_type": "quote"},
    NumberingSequence: {"document_type": "order"},
    VatRate: {"rate": Decimal("20")},
}
# What the create form needs beyond code and label, by URL name.
FORM_EXTRA = {
    "document-titles": {"document_type": "quote"},
    "operation-codes": {"document_type": "quote"},
    "numbering-sequences": {"document_type": "quote", "padding": "6", "next_number": "1"},
    "vat-rates": {"rate": "20"},
}
SCREENS = {url: model for model, _view, url, _label in PARAMETER_SCREENS}


def add_row(model, tenant_id: int, code: str, label: str | None = None, **values):
    """A committed row of ``model`` in a tenant (inside an app context)."""
    row = model(tenant_id=tenant_id, code=code, label=label or f"{code} label", **{**REQUIRED.get(model, {}), **values})
    db.session.add(row)
    db.session.commit()
    return row


def admin_view(endpoint: str):
    """The list screen of a URL name, from the table catalogue."""
    table = catalog.table(endpoint)
    if table is None:
        raise LookupError(endpoint)
    return table.screen


def read_xlsx(data: bytes):
    """The first sheet of an XLSX file (openpyxl, formulas not evaluated)."""
    import io

    import openpyxl

    return openpyxl.load_workbook(io.BytesIO(data)).active


def xlsx_values(data: bytes) -> list[list]:
    """Header and rows of the first sheet, as values."""
    return [list(row) for row in read_xlsx(data).iter_rows(values_only=True)]
