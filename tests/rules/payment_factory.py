"""Validated invoices and payment files for the payment tests (rules, screens, command)."""
import io
from pathlib import Path
from datetime import date
from decimal import Decimal

import openpyxl

from core.extensions import db
from models import JobSite, Sector
from models.master_data import Client
from rules.invoices import validate_invoice
from tests.rules.invoice_factory import draft_invoice, invoice_setup

HEADERS = ["Référence facture", "Date règlement", "Montant", "Mode de règlement", "Code client",
           "Référence comptable"]
SAMPLE = Path(__file__).resolve().parents[3] / "shared" / "samples" / "payments" / "reglements_exemple.xlsx"


def sample_path() -> str:
    """The specification's sample file (``../shared/samples`` next to the repository)."""
    if not SAMPLE.exists():
        raise FileNotFoundError(SAMPLE)
    return str(SAMPLE)


def payment_invoices(tenant_id: int) -> dict:
    """Three validated invoices FA000001 (client C001, 1,250.40), FA000002 (C001, 318.00) and
    FA000003 (C002, 500.00), dated 01/10/2026, on job sites CH1 (sector NORD) and CH2
    (sector SUD); one draft invoice (C001, 120.00). Returns their ids and the setup."""
    setup = invoice_setup(tenant_id, prefix="FA0")
    other = Client(tenant_id=tenant_id, code="C002", name="Martin SARL", siren="542051180")
    north = Sector(tenant_id=tenant_id, code="NORD", label="Nord")
    south = Sector(tenant_id=tenant_id, code="SUD", label="Sud")
    db.session.add_all([other, north, south])
    db.session.flush()
    ch1 = JobSite(tenant_id=tenant_id, code="CH1", name="Chantier un", client_id=setup["client"], sector=north)
    ch2 = JobSite(tenant_id=tenant_id, code="CH2", name="Chantier deux", client_id=other.id, sector=south)
    db.session.add_all([ch1, ch2])
    db.session.flush()
    day = date(2026, 10, 1)
    first = draft_invoice(tenant_id, setup, [(Decimal("1"), Decimal("1042.00"), "vat20")], invoice_date=day)
    second = draft_invoice(tenant_id, setup, [(Decimal("1"), Decimal("265.00"), "vat20")], invoice_date=day)
    third = draft_invoice(tenant_id, setup, [(Decimal("1"), Decimal("500.00"), "vat20")], invoice_date=day)
    third.client_id = other.id
    first.job_site_id = second.job_site_id = ch1.id
    third.job_site_id = ch2.id
    draft = draft_invoice(tenant_id, setup, invoice_date=day)
    draft.job_site_id = ch1.id
    db.session.flush()
    for invoice in (first, second, third):
        validate_invoice(invoice.id, tenant_id)
    db.session.commit()
    return {"FA000001": first.id, "FA000002": second.id, "FA000003": third.id, "draft": draft.id,
            "client": setup["client"], "other_client": other.id, "CH1": ch1.id, "CH2": ch2.id,
            "NORD": north.id, "SUD": south.id}


class Text(str):
    """A cell written as text even when it starts with ``=`` (openpyxl would write a formula)."""


def xlsx_file(rows, headers=HEADERS, sheet="Règlements") -> bytes:
    """An .xlsx with typed cells (dates as date cells, numbers as numbers; a text starting
    with ``=`` is a formula cell unless wrapped in ``Text``)."""
    workbook = openpyxl.Workbook()
    worksheet = workbook.active
    worksheet.title = sheet
    if headers is not None:
        worksheet.append(headers)
    for row in rows:
        worksheet.append([str(value) if isinstance(value, Text) else value for value in row])
        for cell, value in zip(worksheet[worksheet.max_row], row):
            if isinstance(value, Text):
                cell.data_type = "s"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
