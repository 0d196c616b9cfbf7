"""Invoice rules: totals in Decimal, and validation with a gapless chronological number."""
from collections import defaultdict
from functools import cache
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import gettext as _
from sqlalchemy import bindparam, case, func, select
from sqlalchemy.orm import defer, joinedload, load_only
from sqlalchemy.orm.exc import StaleDataError

from core.audit import update_row, update_row_from
from core.extensions import db
from models import Client, DossierSettings, JobSite, NumberingSequence, Unit, VatRate
from models.base import utcnow
from models.invoices import Invoice, InvoiceLine, credited_amount_of
from rules.master_data import client_required_errors, foreign_tenant_errors, places_of_client_errors
from rules.numbering import TakenNumber, chosen_sequence_id, no_sequence_message, take_next_number, taken_cte
from rules.settings import settings_for

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
    """Line amounts, then totals; VAT is computed per rate on the sum of its lines (none
    under reverse charge: the client pays it, CGI art. 283-2 nonies)."""
    bases: dict[Decimal, Decimal] = defaultdict(Decimal)
    for line in invoice.lines:
        amount = line_amount(line.quantity, line.unit_price)
        _set_changed(line, "amount", amount)
        rate = Decimal(line.vat_rate.rate) if line.vat_rate is not None else Decimal(0)
        bases[rate] += amount
    excl, vat, incl = totals_of(bases, getattr(invoice, "reverse_charge", False))
    _set_changed(invoice, "total_excl_vat", excl)
    _set_changed(invoice, "total_vat", vat)
    _set_changed(invoice, "total_incl_vat", incl)


def totals_of(bases: dict[Decimal, Decimal], reverse_charge: bool = False) -> tuple[Decimal, Decimal, Decimal]:
    """(excluding VAT, VAT, including VAT) of the line amounts summed by VAT rate: VAT per
    rate on the sum of its lines. ``compute_totals`` on objects; a bulk engine that holds
    plain rows (the CSV reception) sums its amounts by rate and calls this directly."""
    excl = sum(bases.values(), Decimal(0)).quantize(CENT)
    vat = Decimal(0) if reverse_charge else sum(
        ((base * rate / 100).quantize(CENT, ROUND_HALF_UP) for rate, base in bases.items()), Decimal(0))
    return excl, vat.quantize(CENT), (excl + vat).quantize(CENT)


def _set_changed(row, name: str, value) -> None:
    """Assign a value that differs only: a row whose totals are right stays clean, so a
    flush (a validation's, under the numbering lock) does not go through it."""
    if getattr(row, name) != value:
        setattr(row, name, value)


class LegalItemsMissing(InvoiceError):
    """A validation refused for the legal items the invoice lacks (all listed at once)."""

    def __init__(self, items: list[str]):
        self.items = items
        super().__init__(_("The invoice cannot be validated: %(items)s", items=" ".join(items)))


def validate_invoice(invoice_id: int, tenant_id: int, confirm_zero_total: bool = False) -> Invoice:
    """Validate a draft invoice or credit note: the next number of its sequence (the
    invoice or the credit-note one), taken in the caller's transaction.

    Everything that can be done without the number is done before it is taken, so
    that the work under the sequence lock stays short: one query loads the invoice with
    what the checks need, the legal items are checked (all missing ones listed at once),
    the totals, terms and identity snapshot are computed in memory, and so are the
    audit entries and the statement's parameters (``_take_number_and_write``). Under the
    lock (the sequence ``UPDATE``: row lock on PostgreSQL, write lock on SQLite, until
    the caller commits) come only the date and length checks of the number, and one
    ``UPDATE`` of the invoice conditional on its still being a draft, with its audit
    entries. A credit note also locks the invoice it credits and is refused when it
    credits more than is left. On any refusal the caller rolls back and the number is
    given back. The document itself is rendered after the commit (``rules.documents``).
    """
    invoice, settings, sequence = _load_for_validation(invoice_id, tenant_id)
    label = str(invoice)
    sequence_id = sequence.id  # loaded: the audit entries name it by its code
    with db.session.no_autoflush:  # nothing written before the lock: the invoice's one UPDATE comes after it
        values = _prepare_validation(invoice, settings, confirm_zero_total)
        values.update(numbering_sequence_id=sequence_id, state="validated", validated_at=utcnow())
        if invoice.is_credit_note:
            _lock_credited_invoice(invoice)
        written = _take_number_and_write(invoice, values, sequence_id)
    if not written:
        raise InvoiceError(_("Invoice %(number)s has just been validated by someone else.", number=label))
    return invoice


def _take_number_and_write(invoice: Invoice, values: dict, sequence_id: int) -> bool:
    """Take the number and write it with ``values`` in the invoice's ``UPDATE … WHERE
    state = 'draft'`` and its audit entries: False, nothing written, when it was no longer
    a draft. On PostgreSQL in one statement (``_in_one_statement``), elsewhere in two."""
    if db.session.connection().dialect.name == "postgresql":
        return _in_one_statement(invoice, values, sequence_id)
    taken = take_next_number(sequence_id, invoice.invoice_date)  # the lock, until the caller commits
    _check_number(invoice, taken)
    if invoice.is_credit_note:
        _check_left_to_credit(invoice)  # under the locks: the credit notes validated before
    return update_row(invoice, {**values, "number": taken.formatted, "sequence_number": taken.number})


def _in_one_statement(invoice: Invoice, values: dict, sequence_id: int) -> bool:
    """PostgreSQL: one statement takes the number (the sequence row's lock, until the
    caller commits) and writes it with the invoice's ``UPDATE … WHERE state = 'draft'`` and
    its audit entries, built before it (``update_row_from``): the lock is held for this
    round trip and the commit only. The write is conditional on the number being
    acceptable too; when it is not, the refusal is raised from what the statement returned.
    A credit note is checked against what is left to credit before it: the credited
    invoice's row lock, held already, serialises its credit notes."""
    from rules.legal import MAX_NUMBER_LENGTH

    if invoice.is_credit_note:
        _check_left_to_credit(invoice)
    row, written = update_row_from(
        invoice, values, taken_cte(), {"number": "formatted", "sequence_number": "number"},
        {"sequence_id": sequence_id, "document_date": invoice.invoice_date, "max_length": MAX_NUMBER_LENGTH},
        guard="acceptable", row_code="formatted")
    if row is None:  # the sequence deleted meanwhile
        raise InvoiceError(no_sequence_message("credit_note" if invoice.is_credit_note else "invoice"))
    if not row["acceptable"]:
        _check_number(invoice, TakenNumber(sequence_id, row["number"], row["formatted"], row["last_document_date"]))
    return written


def _load_for_validation(invoice_id: int, tenant_id: int):
    """The invoice with its lines, VAT rates, units, client, job site and credited
    invoice, the dossier settings and the invoice's numbering sequence, in one query:
    (invoice, settings, sequence). Refused for an unknown invoice, one validated
    already, or without a sequence."""
    row = db.session.execute(_validation_query(), {"invoice_id": invoice_id, "tenant_id": tenant_id}
                             ).unique().one_or_none()
    if row is None:
        raise InvoiceError(_("Unknown invoice."))
    invoice, settings, sequence = row
    if invoice.state != "draft":
        raise InvoiceError(_("Invoice %(number)s is already validated.", number=invoice))
    if sequence is None:
        raise InvoiceError(no_sequence_message("credit_note" if invoice.is_credit_note else "invoice"))
    return invoice, settings if settings is not None else settings_for(tenant_id), sequence


@cache
def _validation_query():
    """Built once (its SQL compiled once). Of the rows around the invoice, only the
    columns the checks, the totals and the snapshot read (the settings' legal fields, the
    buyer's, the delivery place's, a rate, a unit's codes; the sequence's code, which
    names it in the audit entries): each column loaded costs at every validation, in the
    driver's description of the result and in the ORM's row processing."""
    from rules.legal import BUYER_FIELDS, SELLER_FIELDS

    document_type = case((Invoice.kind == "credit_note", "credit_note"), else_="invoice")
    sequence_id = chosen_sequence_id(Invoice.tenant_id, document_type, Invoice.establishment_id)
    credited, lines = joinedload(Invoice.credited_invoice), joinedload(Invoice.lines)
    return (
        select(Invoice, DossierSettings, NumberingSequence)
        .outerjoin(DossierSettings, DossierSettings.tenant_id == Invoice.tenant_id)
        .outerjoin(NumberingSequence, NumberingSequence.id == sequence_id)
        .where(Invoice.id == bindparam("invoice_id"), Invoice.tenant_id == bindparam("tenant_id"))
        .options(defer(Invoice.outstanding_amount),
                 load_only(*(getattr(DossierSettings, name) for name in SELLER_FIELDS)),
                 load_only(NumberingSequence.code),
                 lines.joinedload(InvoiceLine.vat_rate).load_only(VatRate.rate),
                 lines.joinedload(InvoiceLine.unit).load_only(Unit.code, Unit.un_ece_code),
                 joinedload(Invoice.client).load_only(*(getattr(Client, name) for name in BUYER_FIELDS)),
                 joinedload(Invoice.job_site).load_only(JobSite.name, JobSite.address, JobSite.postcode,
                                                        JobSite.city),
                 credited.load_only(Invoice.number, Invoice.invoice_date)))


def _prepare_validation(invoice: Invoice, settings, confirm_zero_total: bool) -> dict:
    """The checks that need no number (legal items, zero total) and the totals (when one
    changed since the draft was saved, a VAT rate edited meanwhile, the commit's flush
    writes it); returns the values written with the number: due date and operation
    category (unless set), identity snapshot."""
    from rules.legal import due_date_for, identity_snapshot, invoice_legal_errors, operation_category_of

    missing = invoice_legal_errors(invoice, settings)
    if missing:
        raise LegalItemsMissing(missing)
    compute_totals(invoice)
    if invoice.total_incl_vat == 0 and not confirm_zero_total:
        raise ZeroTotalNeedsConfirmation(_("The invoice total is zero: confirm to validate it anyway."))
    return {"due_date": invoice.due_date or due_date_for(invoice.invoice_date, settings),
            "operation_category": invoice.operation_category or operation_category_of(invoice.lines),
            "identity_snapshot": identity_snapshot(invoice, settings)}


def _check_number(invoice: Invoice, taken: TakenNumber) -> None:
    """Numbers follow the invoice dates, and are at most 35 characters (BR-FR)."""
    from rules.legal import MAX_NUMBER_LENGTH

    if taken.out_of_order(invoice.invoice_date):
        raise InvoiceError(_(
            "The invoice is dated %(date)s, before the last validated invoice of its sequence "
            "(%(last)s): invoices are numbered in chronological order.",
            date=invoice.invoice_date.strftime("%d/%m/%Y"), last=taken.last_document_date.strftime("%d/%m/%Y")))
    if len(taken.formatted) > MAX_NUMBER_LENGTH:
        raise LegalItemsMissing([_(
            "The number %(number)s would be longer than %(max)s characters: shorten the prefix or the padding "
            "of the numbering sequence.", number=taken.formatted, max=MAX_NUMBER_LENGTH)])


def _check_left_to_credit(credit_note: Invoice) -> None:
    left = left_to_credit(credit_note.credited_invoice_id)
    if credit_note.total_incl_vat > left:
        raise InvoiceError(_(
            "This credit note (%(amount)s incl. VAT) credits more than is left on invoice %(invoice)s "
            "(%(left)s).", amount=_money(credit_note.total_incl_vat), invoice=credit_note.credited_invoice.number,
            left=_money(left)))


def _money(value: Decimal) -> str:
    return format(Decimal(value).quantize(CENT), ",.2f").replace(",", "\u202f").replace(".", ",") + " €"


def _lock_credited_invoice(credit_note: Invoice) -> None:
    """Lock the credited invoice's row (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's
    write lock serialises anyway): two credit notes of one invoice validate one after the
    other, the second one seeing the first."""
    db.session.execute(select(Invoice.id).where(Invoice.id == credit_note.credited_invoice_id).with_for_update())


def left_to_credit(invoice_id: int) -> Decimal:
    """An invoice's total incl. VAT minus its validated credit notes."""
    total, credited = db.session.execute(
        select(Invoice.total_incl_vat, credited_amount_of(Invoice.id)).where(Invoice.id == invoice_id)).one()
    return (Decimal(total or 0) - Decimal(credited or 0)).quantize(CENT)


def credited_amounts(invoice_ids, tenant_id: int) -> dict[int, Decimal]:
    """The validated credit notes' total incl. VAT of each invoice (0 without any)."""
    ids = {int(i) for i in invoice_ids}
    if not ids:
        return {}
    rows = db.session.execute(
        select(Invoice.credited_invoice_id, func.sum(Invoice.total_incl_vat))
        .where(Invoice.tenant_id == tenant_id, Invoice.state == "validated", Invoice.credited_invoice_id.in_(ids))
        .group_by(Invoice.credited_invoice_id)).all()
    found = {invoice_id: Decimal(total).quantize(CENT) for invoice_id, total in rows}
    return {invoice_id: found.get(invoice_id, Decimal("0.00")) for invoice_id in ids}


def create_credit_note(invoice_id: int, tenant_id: int) -> Invoice:
    """A draft credit note of a validated invoice: same client, site, job site, sector,
    establishment, memo and lines (the user may lower quantities or remove lines to
    credit part of it). Neither the origin nor the external reference is copied."""
    from core import clock
    invoice = db.session.execute(
        select(Invoice).where(Invoice.id == invoice_id, Invoice.tenant_id == tenant_id)
        .options(joinedload(Invoice.lines))).unique().scalar_one_or_none()
    if invoice is None:
        raise InvoiceError(_("Unknown invoice."))
    if invoice.is_credit_note:
        raise InvoiceError(_("A credit note cannot be credited."))
    if invoice.state != "validated":
        raise InvoiceError(_("Only a validated invoice can be credited: a draft is changed or cancelled."))
    left = left_to_credit(invoice.id)
    if left <= 0:
        raise InvoiceError(_("Invoice %(number)s is already fully credited.", number=invoice.number))
    credit = Invoice(
        tenant_id=tenant_id, kind="credit_note", credited_invoice_id=invoice.id, state="draft",
        invoice_date=clock.today(), client_id=invoice.client_id, site_id=invoice.site_id,
        job_site_id=invoice.job_site_id, sector_id=invoice.sector_id, establishment_id=invoice.establishment_id,
        memo=invoice.memo, reverse_charge=invoice.reverse_charge, buyer_reference=invoice.buyer_reference,
        operation_category=invoice.operation_category, service_date=invoice.service_date)
    credit.lines = [InvoiceLine(tenant_id=tenant_id, position=line.position, article_id=line.article_id,
                                label=line.label, kind=line.kind, quantity=line.quantity,
                                unit_price=line.unit_price, vat_rate_id=line.vat_rate_id, unit_id=line.unit_id)
                    for line in invoice.lines]
    db.session.add(credit)
    db.session.flush()
    compute_totals(credit)
    db.session.flush()
    return credit


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
