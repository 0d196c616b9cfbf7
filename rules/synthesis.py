"""Job-site synthesis (*synthèse chantier*, ``master-data.md``): per job site, the
number of validated invoices, invoiced excl. and incl. VAT, paid, outstanding and
the last payment date. Validated credit notes subtract from the invoiced amounts (on
the job site of the invoice they credit, which they copy).

Computed by the database in one statement: two aggregate sub-queries (validated
invoices per job site; payments of those invoices per job site), each one
``GROUP BY job_site_id``, joined to the job sites. Filters: the job site's client
and sector, and a period on the invoice dates (payments count for the invoices of
the period, whatever their own date).
"""
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import case, func, select

from core.extensions import db
from models.invoices import Invoice
from models.master_data import Client, JobSite
from models.parameters import Sector
from models.payments import Payment

ZERO = Decimal("0.00")
CENT = Decimal("0.01")


@dataclass(frozen=True)
class SynthesisFilters:
    client_id: int | None = None
    sector_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    with_invoices_only: bool = False


@dataclass(frozen=True)
class SynthesisRow:
    job_site_id: int
    code: str
    name: str
    client_code: str
    client_name: str
    sector_code: str
    invoice_count: int
    invoiced_excl_vat: Decimal
    invoiced_incl_vat: Decimal
    paid: Decimal
    last_payment_date: date | None

    @property
    def outstanding(self) -> Decimal:
        return self.invoiced_incl_vat - self.paid


def _money(value) -> Decimal:
    return Decimal(value or 0).quantize(CENT)


def synthesis_statement(tenant_id: int, filters: SynthesisFilters = SynthesisFilters()):
    invoice_filters = [Invoice.tenant_id == tenant_id, Invoice.state == "validated", Invoice.job_site_id.isnot(None)]
    if filters.date_from:
        invoice_filters.append(Invoice.invoice_date >= filters.date_from)
    if filters.date_to:
        invoice_filters.append(Invoice.invoice_date <= filters.date_to)
    # a credit note's amounts are positive: it subtracts (invoicing.md), and counts as no invoice
    sign = case((Invoice.kind == "credit_note", -1), else_=1)
    invoiced = (select(Invoice.job_site_id.label("job_site_id"),
                       func.count(case((Invoice.kind == "invoice", Invoice.id))).label("invoice_count"),
                       func.sum(sign * Invoice.total_excl_vat).label("excl"),
                       func.sum(sign * Invoice.total_incl_vat).label("incl"))
                .where(*invoice_filters).group_by(Invoice.job_site_id).subquery("invoiced"))
    paid = (select(Invoice.job_site_id.label("job_site_id"), func.sum(Payment.amount).label("paid"),
                   func.max(Payment.payment_date).label("last_payment_date"))
            .join(Invoice, Invoice.id == Payment.invoice_id)
            .where(Payment.tenant_id == tenant_id, *invoice_filters)
            .group_by(Invoice.job_site_id).subquery("paid"))
    statement = (
        select(JobSite.id, JobSite.code, JobSite.name, Client.code, Client.name, Sector.code,
               func.coalesce(invoiced.c.invoice_count, 0), invoiced.c.excl, invoiced.c.incl, paid.c.paid,
               paid.c.last_payment_date)
        .join(Client, Client.id == JobSite.client_id)
        .outerjoin(Sector, Sector.id == JobSite.sector_id)
        .outerjoin(invoiced, invoiced.c.job_site_id == JobSite.id)
        .outerjoin(paid, paid.c.job_site_id == JobSite.id)
        .where(JobSite.tenant_id == tenant_id)
        .order_by(JobSite.code))
    if filters.client_id:
        statement = statement.where(JobSite.client_id == filters.client_id)
    if filters.sector_id:
        statement = statement.where(JobSite.sector_id == filters.sector_id)
    if filters.with_invoices_only:
        statement = statement.where(invoiced.c.invoice_count > 0)
    return statement


def job_site_synthesis(tenant_id: int, filters: SynthesisFilters = SynthesisFilters()) -> list[SynthesisRow]:
    """One row per job site of the tenant (matching the filters), ordered by code."""
    return [
        SynthesisRow(row[0], row[1], row[2], row[3], row[4], row[5] or "", int(row[6] or 0), _money(row[7]),
                     _money(row[8]), _money(row[9]), row[10])
        for row in db.session.execute(synthesis_statement(tenant_id, filters))
    ]


@dataclass(frozen=True)
class SynthesisTotals:
    invoice_count: int
    invoiced_excl_vat: Decimal
    invoiced_incl_vat: Decimal
    paid: Decimal
    outstanding: Decimal


def totals(rows: list[SynthesisRow]) -> SynthesisTotals:
    return SynthesisTotals(
        sum(row.invoice_count for row in rows), sum((row.invoiced_excl_vat for row in rows), ZERO),
        sum((row.invoiced_incl_vat for row in rows), ZERO), sum((row.paid for row in rows), ZERO),
        sum((row.outstanding for row in rows), ZERO))
