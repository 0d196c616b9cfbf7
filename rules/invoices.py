"""Invoice rules: totals in Decimal, and validation with a gapless chronological number."""
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError

from core.extensions import db
from models.base import utcnow
from models.invoices import Invoice, InvoiceLine
from rules.master_data import client_required_errors, foreign_tenant_errors, places_of_client_errors
from rules.numbering import find_sequence, take_next_number

CENT = Decimal("0.01")


class InvoiceError(ValueError):
    """A validation refused, with the message for the user."""


class ZeroTotalNeedsConfirmation(InvoiceError):
    pass


def invoice_errors(values: dict, tenant_id: int, row_id: int | None) -> dict[str, str]:
    """An invoice has a client of its dossier, and its site and job site are that client's
    (the row rule of the invoice screens; connectors and the webhook call it too)."""
    errors = dict(foreign_tenant_errors(values, tenant_id))
    for part in (client_required_errors(values), places_of_client_errors(values)):
        for name, message in part.items():
            errors.setdefault(name, message)
    return errors


INVOICE_ROW_RULES = {Invoice: invoice_errors}


def line_amount(quantity: Decimal, unit_price: Decimal) -> Decimal:
    return (Decimal(quantity or 0) * Decimal(unit_price or 0)).quantize(CENT, ROUND_HALF_UP)


def compute_totals(invoice: Invoice) -> None:
    """Line amounts, then totals; VAT is computed per rate on the sum of its lines."""
    bases: dict[Decimal, Decimal] = defaultdict(Decimal)
    for line in invoice.lines:
        line.amount = line_amount(line.quantity, line.unit_price)
        rate = Decimal(line.vat_rate.rate) if line.vat_rate is not None else Decimal(0)
        bases[rate] += line.amount
    excl = sum(bases.values(), Decimal(0)).quantize(CENT)
    vat = sum(((base * rate / 100).quantize(CENT, ROUND_HALF_UP) for rate, base in bases.items()), Decimal(0))
    invoice.total_excl_vat, invoice.total_vat = excl, vat.quantize(CENT)
    invoice.total_incl_vat = (excl + vat).quantize(CENT)


def validate_invoice(invoice_id: int, tenant_id: int, confirm_zero_total: bool = False) -> Invoice:
    """Validate a draft: the next number of its sequence, taken in the caller's transaction.

    Totals are computed before the number is taken, so that the work done under the
    sequence lock stays short: one ``UPDATE`` of the sequence (which locks it: row
    lock on PostgreSQL, write lock on SQLite, until the caller commits, and returns
    the latest date numbered before) and one ``UPDATE`` of the invoice conditional on
    its still being a draft. On any refusal the caller rolls back and the number is
    given back.
    """
    invoice = db.session.execute(
        select(Invoice).where(Invoice.id == invoice_id, Invoice.tenant_id == tenant_id)
        .options(joinedload(Invoice.lines).joinedload(InvoiceLine.vat_rate))
    ).unique().scalar_one_or_none()
    if invoice is None:
        raise InvoiceError(_("Unknown invoice."))
    if invoice.state != "draft":
        raise InvoiceError(_("Invoice %(number)s is already validated.", number=invoice))
    label = str(invoice)
    sequence = find_sequence(tenant_id, "invoice", invoice.establishment_id)  # kept: the audit reads its code
    sequence_id = sequence.id
    compute_totals(invoice)
    if invoice.total_incl_vat == 0 and not confirm_zero_total:
        raise ZeroTotalNeedsConfirmation(_("The invoice total is zero: confirm to validate it anyway."))
    _flush_draft(invoice, label)

    taken = take_next_number(sequence_id, invoice.invoice_date)
    if taken.out_of_order(invoice.invoice_date):
        raise InvoiceError(_(
            "The invoice is dated %(date)s, before the last validated invoice of its sequence "
            "(%(last)s): invoices are numbered in chronological order.",
            date=invoice.invoice_date.strftime("%d/%m/%Y"), last=taken.last_document_date.strftime("%d/%m/%Y")))
    invoice.number = taken.formatted
    invoice.numbering_sequence_id = sequence_id
    invoice.sequence_number = taken.number
    invoice.state = "validated"
    invoice.validated_at = utcnow()
    _flush_draft(invoice, label)
    return invoice


def _flush_draft(invoice: Invoice, label: str) -> None:
    """Write the invoice's changes with ``UPDATE … WHERE state = 'draft'`` (see
    ``Invoice.__mapper_args__``): refused when someone validated it meanwhile.

    ``label`` names the invoice as it was read: once the flush has failed, the session
    must be rolled back before any attribute of the invoice can be read again."""
    try:
        db.session.flush()
    except StaleDataError:
        raise InvoiceError(_("Invoice %(number)s has just been validated by someone else.", number=label))


def cancel_draft(invoice: Invoice) -> None:
    """A draft may be cancelled (it keeps no number); a validated invoice is cancelled
    by a credit note only."""
    if invoice.state != "draft":
        raise InvoiceError(_("Only a draft can be cancelled: a validated invoice is cancelled by a credit note."))
    label = str(invoice)
    invoice.state = "cancelled"
    _flush_draft(invoice, label)
