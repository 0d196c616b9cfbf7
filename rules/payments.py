"""Customer payments imported from the accounting's Excel file (``payments-import.md``).

Plain functions, no Flask request:

- ``map_headers`` finds the columns by name (case, accents and spacing ignored,
  any order, extra columns ignored);
- ``parse_row`` turns the cells of one row into a ``PaymentRow`` (dates: date
  cells, text ``DD/MM/YYYY`` or ISO, Excel serial numbers; amounts: number cells
  or text with a decimal comma or point, as ``Decimal``);
- ``check_rows`` gives every row its alerts, with the tenant's invoices and
  payments read in a few batched queries (never one query per row);
- ``import_rows`` writes the rows without a red alert as one batch;
  ``cancel_batch`` removes a batch's payments;
- ``outstanding_amounts``: total incl. VAT − validated credit notes − sum of the payments, per invoice.

Each alert has a code, a level (``blocking``: red, the row is not imported;
``warning``: yellow, imported) and an explanation for the user.
"""
import json
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from operator import itemgetter
from typing import NamedTuple
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import get_translations
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Integer, String, any_, case, cast, func, literal, literal_column, select, type_coerce
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import NullType

from core import clock
from core.extensions import db
from models.base import utcnow
from models.invoices import Invoice, credited_amount_of, credited_amounts_by_invoice
from models.master_data import Client
from models.payments import PAYMENT_METHODS, Payment, PaymentImportBatch
from spreadsheets import cells

CENT = Decimal("0.01")

BLOCKING, WARNING, OK = "blocking", "warning", "ok"
ALERT_LEVELS = {
    "unknown_invoice": BLOCKING,
    "invoice_not_validated": BLOCKING,
    "bad_date": BLOCKING,
    "bad_amount": BLOCKING,
    "client_mismatch": BLOCKING,
    "duplicate": BLOCKING,
    "overpayment": WARNING,
    "date_before_invoice": WARNING,
    "date_in_future": WARNING,
    "unknown_method": WARNING,
}
ALERT_ORDER = {code: position for position, code in enumerate(ALERT_LEVELS)}
ALERT_LABELS = {
    "unknown_invoice": _l("Unknown invoice"),
    "invoice_not_validated": _l("Invoice not validated"),
    "bad_date": _l("Bad date"),
    "bad_amount": _l("Bad amount"),
    "client_mismatch": _l("Other client"),
    "duplicate": _l("Duplicate"),
    "overpayment": _l("Overpayment"),
    "date_before_invoice": _l("Before the invoice"),
    "date_in_future": _l("Future date"),
    "unknown_method": _l("Unknown method"),
}

# The columns of the file, as named in code, with every accepted spelling of their header.
COLUMNS = ("invoice_reference", "payment_date", "amount", "method", "client_code", "accounting_reference")
REQUIRED_COLUMNS = ("invoice_reference", "payment_date", "amount")
TEMPLATE_HEADERS = {
    "invoice_reference": "Référence facture",
    "payment_date": "Date règlement",
    "amount": "Montant",
    "method": "Mode de règlement",
    "client_code": "Code client",
    "accounting_reference": "Référence comptable",
}
HEADER_SPELLINGS = {
    "invoice_reference": ("Référence facture", "Réf facture", "Réf. facture", "N° facture", "Numéro facture",
                          "Numéro de facture", "Facture", "Invoice reference", "Invoice number", "Invoice"),
    "payment_date": ("Date règlement", "Date de règlement", "Date du règlement", "Date paiement",
                     "Date de paiement", "Payment date"),
    "amount": ("Montant", "Montant règlement", "Montant du règlement", "Montant réglé", "Amount"),
    "method": ("Mode de règlement", "Mode règlement", "Mode de paiement", "Mode", "Payment method", "Method"),
    "client_code": ("Code client", "Client", "Client code"),
    "accounting_reference": ("Référence comptable", "Réf comptable", "Réf. comptable", "Pièce comptable",
                             "Accounting reference"),
}
METHOD_SPELLINGS = {
    "cheque": ("cheque", "chèque", "chq", "check"),
    "transfer": ("transfer", "virement", "vir", "virement bancaire", "bank transfer", "wire transfer"),
    "card": ("card", "carte", "cb", "carte bancaire", "credit card"),
    "cash": ("cash", "espèces", "espece", "liquide"),
    "direct_debit": ("direct debit", "direct_debit", "prélèvement", "prlv", "prélèvement sepa"),
    "other": ("other", "autre", "divers"),
}


squash = cells.fold  # how headers and words are compared


def translator():
    """``gettext`` for a loop over thousands of rows: flask_babel looks the current
    catalogue up again on every call (several µs); this looks it up once."""
    translations = get_translations()

    def translate(message: str, **values) -> str:
        text = translations.ugettext(message)
        return text % values if values else text
    return translate


_HEADERS = {squash(spelling): name for name, spellings in HEADER_SPELLINGS.items()
            for spelling in (*spellings, name)}
_METHODS = {squash(spelling): code for code, spellings in METHOD_SPELLINGS.items() for spelling in spellings}


# --- Alerts and rows -----------------------------------------------------------------------

@dataclass(frozen=True)
class Alert:
    code: str
    message: str

    @property
    def level(self) -> str:
        return ALERT_LEVELS[self.code]

    @property
    def label(self) -> str:
        return str(ALERT_LABELS[self.code])


@dataclass(slots=True)
class PaymentRow:
    """One data row of the file: its sheet row number, parsed values, shown cells and alerts
    (slots: a file makes tens of thousands of them)."""

    row: int
    cells: tuple                    # the six cells as shown on the control screen (text)
    invoice_reference: str = ""
    payment_date: date | None = None
    amount: Decimal | None = None
    method: str = "other"
    client_code: str = ""
    accounting_reference: str = ""
    alerts: list[Alert] = field(default_factory=list)
    invoice_id: int | None = None

    @property
    def status(self) -> str:
        if not self.alerts:
            return OK
        levels = {alert.level for alert in self.alerts}
        return BLOCKING if BLOCKING in levels else WARNING if WARNING in levels else OK

    @property
    def importable(self) -> bool:
        return self.invoice_id is not None and (not self.alerts or not self.blocked)

    @property
    def blocked(self) -> bool:
        """A red alert: the row is not imported."""
        return bool(self.alerts) and any(alert.level == BLOCKING for alert in self.alerts)

    def alert_codes(self) -> list[str]:
        return [alert.code for alert in self.alerts]

    def add(self, code: str, message: str) -> None:
        if not self.alerts or all(alert.code != code for alert in self.alerts):
            self.alerts.append(Alert(code, message))


def count_statuses(rows: list[PaymentRow]) -> dict[str, int]:
    statuses = [row.status for row in rows if row.alerts]  # a row without an alert is ok
    return {OK: len(rows) - len(statuses) + statuses.count(OK), WARNING: statuses.count(WARNING),
            BLOCKING: statuses.count(BLOCKING)}


# --- Headers and cells ---------------------------------------------------------------------

def map_headers(headers) -> tuple[dict[str, int], list[str]]:
    """Column name → index of the header cells, and the required columns missing."""
    mapping: dict[str, int] = {}
    for index, header in enumerate(headers):
        if isinstance(header, str) and header.strip():
            name = _HEADERS.get(squash(header))
            if name is not None and name not in mapping:
                mapping[name] = index
    return mapping, [name for name in REQUIRED_COLUMNS if name not in mapping]


_blank = cells.is_blank


def show(value) -> str:
    """A cell as text on the control screen (dates as DD/MM/YYYY, whole numbers without .0)."""
    if type(value) is str:
        return value
    return cells.clean_text(value)


text_of = cells.clean_text  # a text cell (invoice reference, client code…): stripped, NUL bytes removed
AMOUNT_LIMITS = cells.limits_of(Payment.__table__.c.amount)
_LARGEST_FLOAT = float(AMOUNT_LIMITS.largest)  # below it, a float rounded to the cent fits the column


def parse_date(value) -> date:
    """A payment date from a date cell, an Excel serial number or text ``DD/MM/YYYY`` / ISO
    (``spreadsheets.cells``). Raises ValueError (with the user's message) when missing or unreadable."""
    if type(value) is date:
        return value
    if _blank(value):
        raise ValueError(_("The payment date is missing."))
    try:
        return cells.parse_date(value)
    except cells.CellError:
        raise ValueError(_("« %(value)s » is not a date: use a date cell, DD/MM/YYYY or YYYY-MM-DD.",
                           value=show(value))) from None


def parse_amount(value) -> Decimal:
    """A positive amount in cents from a number cell or text with a decimal comma or point
    (``1 250,40``, ``1250.40``, ``1.250,40 €``), rounded half up to the cent, within the
    column's ``Numeric(14, 2)`` (``spreadsheets.cells``). Raises ValueError when missing,
    unreadable, zero, negative or too large."""
    if type(value) is float and 0 < value < _LARGEST_FLOAT:  # a number cell: most rows
        amount = Decimal(repr(value)).quantize(CENT, ROUND_HALF_UP)
        if amount > 0:
            return amount
    if _blank(value):
        raise ValueError(_("The amount is missing."))
    try:
        amount = cells.parse_decimal(value, rounding=ROUND_HALF_UP)
    except cells.CellError:
        raise ValueError(_("« %(value)s » is not an amount.", value=show(value))) from None
    try:
        amount = cells.check_decimal(amount, AMOUNT_LIMITS, ROUND_HALF_UP, shown=show(value))
    except cells.CellError:
        raise ValueError(_("« %(value)s » is too large for an amount.", value=show(value))) from None
    if amount <= 0:
        raise ValueError(_("The amount must be greater than zero (%(amount)s).", amount=show(value)))
    return amount


@lru_cache(maxsize=1024)
def _method_of_text(text: str) -> tuple[str, bool]:
    if not text.strip():
        return "other", True
    code = _METHODS.get(squash(text))
    return (code, True) if code else ("other", False)


def parse_method(value) -> tuple[str, bool]:
    """(method code, known): an empty cell is ``other``; an unknown word is ``other`` too."""
    if value is None:
        return "other", True
    return _method_of_text(value if type(value) is str else show(value))


FORMULA_MESSAGE = _l("The cell holds a formula: formulas are not imported, type the value itself.")


def parse_row(number: int, cells: list, mapping: dict[str, int], formula_columns=()) -> PaymentRow:
    """A ``PaymentRow`` from the cells of sheet row ``number`` (alerts of its own cells only).

    ``formula_columns``: the indexes of the row's cells holding a formula; their cached
    value is not trusted (see ``spreadsheets.fast_reader``)."""
    return parse_rows([(number, cells)], mapping, {number: formula_columns})[0]


def parse_rows(numbered_cells, mapping: dict[str, int], formula_cells: dict | None = None) -> list[PaymentRow]:
    """``parse_row`` of every ``(sheet row number, cells)``; ``formula_cells``: the indexes
    of the cells holding a formula, by row number. A file has tens of thousands of rows:
    what does not depend on the row (column indexes, the catalogue of messages, the
    text of a date) is found once, each cell is read, shown and cleaned once, and the
    usual row (``_usual_rows``) is parsed without the general path's tests."""
    indexes = [mapping.get(name) for name in COLUMNS]
    width_needed = max((index for index in indexes if index is not None), default=-1) + 1
    pick = itemgetter(*indexes) if None not in indexes else None
    shown_of = _cell_texts()
    translate = translator()
    usual_row = _usual_rows(shown_of, translate)
    formula_cells = formula_cells or {}
    rows = []
    append = rows.append
    for number, row_cells in numbered_cells:
        if pick is not None and len(row_cells) >= width_needed:
            raw = pick(row_cells)
        else:
            raw = [row_cells[index] if index is not None and index < len(row_cells) else None for index in indexes]
        row = usual_row(number, raw) if number not in formula_cells else None
        if row is None:
            shown = tuple([value if type(value) is str else shown_of(value) for value in raw])
            row = _parse_cells(number, raw, shown, mapping, formula_cells.get(number), translate)
        append(row)
    return rows


def _cell_texts():
    """``show`` for the cells of one file, quicker on the usual ones: a number, a date
    (its text made once: a file has few distinct dates)."""
    days: dict[date, str] = {}

    def shown_of(value) -> str:
        kind = type(value)
        if kind is float:  # a number cell, as clean_text shows it
            return str(int(value)) if value.is_integer() else repr(value)
        if kind is date:
            text = days.get(value)
            if text is None:
                text = days[value] = show(value)
            return text
        return show(value)
    return shown_of


def _usual_rows(shown_of, _):
    """The parser of the usual row — texts, a date cell, a number cell that fits the
    column, no formula — giving what ``_parse_cells`` gives it in a fraction of its time
    (most rows of a file); None for any other row, which takes the general path."""
    def usual_row(number: int, raw) -> PaymentRow | None:
        reference, day, amount, method, client, accounting = raw
        if not (type(day) is date and type(amount) is float and 0 < amount < _LARGEST_FLOAT
                and type(reference) is str and type(method) is str and type(client) is str
                and type(accounting) is str):
            return None
        amount_shown = shown_of(amount)
        value = Decimal(amount_shown).quantize(CENT, ROUND_HALF_UP)  # the number of its text: parse_amount's
        if not value:  # below half a cent: parse_amount's message
            return None
        code, known = _method_of_text(method)
        reference_text = text_of(reference)
        row = PaymentRow(number, (reference, shown_of(day), amount_shown, method, client, accounting),
                         reference_text, day, value, code, text_of(client), text_of(accounting)[:80])
        if not reference_text:
            _missing_reference(row, _)
        if not known:
            _unknown_method(row, text_of(method), _)
        return row
    return usual_row


def _parse_cells(number: int, raw, shown: tuple, mapping: dict[str, int], formula_columns, _) -> PaymentRow:
    # the text cells (invoice reference, client code…) cleaned from the shown text
    reference = text_of(shown[0])
    row = PaymentRow(number, shown, reference, None, None, "other", text_of(shown[4]), text_of(shown[5])[:80])
    formulas = {name for name, index in mapping.items() if index in formula_columns} if formula_columns else ()

    if "invoice_reference" in formulas:
        row.add("unknown_invoice", str(FORMULA_MESSAGE))
    elif not reference:
        _missing_reference(row, _)

    if "payment_date" in formulas:
        row.add("bad_date", str(FORMULA_MESSAGE))
    else:
        try:
            row.payment_date = raw[1] if type(raw[1]) is date else parse_date(raw[1])
        except ValueError as error:
            row.add("bad_date", str(error))

    if "amount" in formulas:
        row.add("bad_amount", str(FORMULA_MESSAGE))
    else:
        try:
            row.amount = parse_amount(raw[2])
        except ValueError as error:
            row.add("bad_amount", str(error))

    row.method, known = _method_of_text(raw[3]) if type(raw[3]) is str else parse_method(raw[3])
    if "method" in formulas:
        row.method, known = "other", False
    if not known:
        _unknown_method(row, text_of(shown[3]), _)

    if "client_code" in formulas:
        row.add("client_mismatch", str(FORMULA_MESSAGE))
    # a formula's cached text in the accounting reference is kept as text: it is only a label
    return row


def _missing_reference(row: PaymentRow, _) -> None:
    row.add("unknown_invoice", _("The invoice reference is missing."))


def _unknown_method(row: PaymentRow, method_text: str, _) -> None:
    row.add("unknown_method", _("Unknown payment method « %(value)s »: imported as « other ».", value=method_text))


# --- Checking rows against the tenant's invoices and payments --------------------------------

class InvoiceFacts(NamedTuple):
    id: int
    number: str
    state: str
    invoice_date: date
    total_incl_vat: Decimal
    client_code: str


def _as_date(value) -> date:
    return date.fromisoformat(value[:10]) if isinstance(value, str) else value


def _as_decimal(value) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value)).quantize(CENT)


def one_of(column, values, kind=String):
    """``column IN (values)`` with the values as ONE bound parameter (a PostgreSQL array,
    an SQLite JSON array read by ``json_each``): one short statement whatever the number
    of values (an ``IN`` with 20,000 parameters costs more to build than to run)."""
    values = list(values)
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        # an untyped parameter: the server reads it as the array itself, a constant the
        # planner hashes once (typed as text, its cast would be run again for every row)
        return column == any_(cast(literal(_array_literal(values, kind), NullType()), ARRAY(kind)))
    if dialect == "sqlite":
        # in order (a NULL matches nothing): SQLite makes the list a b-tree and seeks the
        # index in its order, each step then on pages just read (set order: 2.5× the time)
        ordered = sorted(value for value in values if value is not None)
        return column.in_(select(literal_column("value")).select_from(
            func.json_each(literal(json.dumps(ordered), String))))
    return column.in_(values)


def _array_literal(values: list, kind) -> str:
    """The PostgreSQL array literal of ``values`` (integers, or texts each double-quoted,
    its backslashes and quotes escaped), read by the server's array input: psycopg's
    dumper of a Python list costs a Python step per value (18 ms for 20,000 texts)."""
    if kind is Integer:
        return "{" + ",".join(map(str, values)) + "}"
    joined = '","'.join(values)
    if "\\" in joined or '"' in joined:
        joined = '","'.join([value.replace("\\", "\\\\").replace('"', '\\"') for value in values])
    return '{"' + joined + '"}' if values else "{}"


def find_invoices(references, tenant_id: int) -> dict[str, InvoiceFacts]:
    """The tenant's invoices by number (as written, or in upper case), in one query."""
    wanted = {ref for ref in references if ref}
    wanted |= set(map(str.upper, wanted))
    if not wanted:
        return {}
    # Core rows, dates and amounts converted here (SQLAlchemy's per-value SQLite processors
    # cost more than the query on 20,000 rows)
    # the amount left to pay counts the validated credit notes (invoicing.md)
    # a credit note receives no payment: it reads as not validated for the import
    state = case((Invoice.kind == "credit_note", "credit_note"), else_=Invoice.state)
    credited = credited_amounts_by_invoice(tenant_id)
    left_to_pay = Invoice.total_incl_vat - func.coalesce(credited.c.amount, 0)
    statement = (select(Invoice.id, Invoice.number, state, type_coerce(Invoice.invoice_date, String),
                        type_coerce(left_to_pay, String), Client.code)
                 .join(Client, Client.id == Invoice.client_id)
                 .outerjoin(credited, credited.c.invoice_id == Invoice.id)
                 .where(Invoice.tenant_id == tenant_id, one_of(Invoice.number, wanted)))
    as_date, as_decimal = lru_cache(maxsize=None)(_as_date), lru_cache(maxsize=None)(_as_decimal)  # few distinct
    # tuple.__new__ is what the named tuple's own __new__ calls, without its Python frame (20,000 invoices)
    facts = tuple.__new__
    return {number: facts(InvoiceFacts, (invoice_id, number, state, as_date(day), as_decimal(total), client))
            for invoice_id, number, state, day, total, client in db.session.connection().execute(statement).all()}


def _existing_payments(invoice_ids, tenant_id: int) -> list[tuple[int, date, Decimal]]:
    if not invoice_ids:
        return []
    statement = (select(Payment.invoice_id, type_coerce(Payment.payment_date, String),
                        type_coerce(Payment.amount, String))
                 .where(Payment.tenant_id == tenant_id, one_of(Payment.invoice_id, invoice_ids, Integer)))
    as_date, as_decimal = lru_cache(maxsize=None)(_as_date), lru_cache(maxsize=None)(_as_decimal)  # few distinct
    return [(invoice_id, as_date(day), as_decimal(amount))
            for invoice_id, day, amount in db.session.connection().execute(statement).all()]


def _existing_references(references, tenant_id: int) -> set[str]:
    wanted = {ref for ref in references if ref}
    if not wanted:
        return set()
    return set(db.session.execute(
        select(Payment.accounting_reference)
        .where(Payment.tenant_id == tenant_id, one_of(Payment.accounting_reference, wanted))).scalars())


def outstanding_amounts(invoice_ids, tenant_id: int) -> dict[int, Decimal]:
    """Outstanding amount of each invoice: total incl. VAT − sum of its payments
    (the SQL of ``Invoice.outstanding_amount``), in one query."""
    invoice_ids = set(invoice_ids)
    if not invoice_ids:
        return {}
    paid = (select(Payment.invoice_id, func.sum(Payment.amount).label("paid"))
            .where(Payment.tenant_id == tenant_id, one_of(Payment.invoice_id, invoice_ids, Integer))
            .group_by(Payment.invoice_id).subquery())
    statement = (select(Invoice.id, Invoice.total_incl_vat - credited_amount_of(Invoice.id),
                        func.coalesce(paid.c.paid, 0))
                 .outerjoin(paid, paid.c.invoice_id == Invoice.id)
                 .where(Invoice.tenant_id == tenant_id, one_of(Invoice.id, invoice_ids, Integer)))
    return {invoice_id: (Decimal(total or 0) - Decimal(paid_amount or 0)).quantize(CENT)
            for invoice_id, total, paid_amount in db.session.execute(statement)}


def _money(value: Decimal) -> str:
    return format(value.quantize(CENT), ",.2f").replace(",", "\u202f").replace(".", ",")


def _day(value: date) -> str:
    return value.strftime("%d/%m/%Y")


def check_rows(rows: list[PaymentRow], tenant_id: int, today: date | None = None) -> list[PaymentRow]:
    """Give every row its alerts (in file order), against the tenant's invoices and the
    payments already imported; returns ``rows``. Reads the database in batched queries."""
    today = today or clock.today()
    invoices = find_invoices({row.invoice_reference for row in rows}, tenant_id)
    ids = {facts.id for facts in invoices.values()}
    paid: dict[int, Decimal] = defaultdict(Decimal)
    already: dict[int, set] = {}  # (date, amount) of the payments already imported, by invoice
    for invoice_id, payment_date, amount in _existing_payments(ids, tenant_id):
        paid[invoice_id] += amount
        already.setdefault(invoice_id, set()).add((payment_date, amount))
    known_references = _existing_references({row.accounting_reference for row in rows}, tenant_id)

    _ = translator()
    first_row_of_payment: dict[tuple, int] = {}
    first_row_of_reference: dict[str, int] = {}
    for row in rows:
        facts = None
        reference = row.invoice_reference
        if reference:
            facts = invoices.get(reference) or invoices.get(reference.upper())
            if facts is None:
                row.add("unknown_invoice", _("No invoice numbered « %(reference)s » in this dossier.",
                                             reference=reference))
            elif facts.state != "validated":
                row.add("invoice_not_validated", _(
                    "Invoice %(reference)s is not validated: only validated invoices receive payments.",
                    reference=facts.number))
        client = row.client_code
        if (facts is not None and client and client != facts.client_code
                and client.upper() != facts.client_code.upper()):
            row.add("client_mismatch", _("The client code « %(given)s » is not the client of invoice "
                                         "%(reference)s (%(client)s).", given=client,
                                         reference=facts.number, client=facts.client_code))
        duplicate = _duplicate_alerts(row, facts, already, known_references, first_row_of_payment,
                                      first_row_of_reference, _)

        payment_date, amount = row.payment_date, row.amount
        if payment_date is not None:
            if facts is not None and payment_date < facts.invoice_date:
                row.add("date_before_invoice", _(
                    "The payment date %(date)s is before the invoice date %(invoice_date)s.",
                    date=_day(payment_date), invoice_date=_day(facts.invoice_date)))
            if payment_date > today:
                row.add("date_in_future", _("The payment date %(date)s is in the future.", date=_day(payment_date)))
        if facts is not None and amount is not None and facts.state == "validated" and not duplicate:
            outstanding = facts.total_incl_vat - paid[facts.id]
            if amount > outstanding:
                row.add("overpayment", _(
                    "The amount %(amount)s is above the outstanding balance of invoice %(reference)s "
                    "(%(outstanding)s, after the payments already imported and the rows above in this file).",
                    amount=_money(amount), reference=facts.number, outstanding=_money(outstanding)))
        alerts = row.alerts
        if len(alerts) > 1:
            alerts.sort(key=_alert_order)
        if facts is not None and (not alerts or not row.blocked):
            row.invoice_id = facts.id
            paid[facts.id] += amount  # the rows below see this payment
    return rows


def _alert_order(alert: Alert) -> tuple:
    return alert.level != BLOCKING, ALERT_ORDER[alert.code]


def _duplicate_alerts(row: PaymentRow, facts, already: dict, known_references: set,
                      first_row_of_payment: dict, first_row_of_reference: dict, _) -> bool:
    """Whether the row repeats a payment (already imported, or above in the file), with
    its alert. setdefault then a look at the size: one hash of the key (a date and a
    Decimal) per row."""
    duplicate = False
    reference = row.accounting_reference
    if reference:
        seen = len(first_row_of_reference)
        first = first_row_of_reference.setdefault(reference, row.row)
        if reference in known_references:
            duplicate = True
            row.add("duplicate", _("A payment with the accounting reference « %(reference)s » has already "
                                   "been imported.", reference=reference))
        elif len(first_row_of_reference) == seen:
            duplicate = True
            row.add("duplicate", _("The accounting reference « %(reference)s » is already on row %(row)s "
                                   "of this file.", reference=reference, row=first))
    payment_date, amount = row.payment_date, row.amount
    if payment_date is None or amount is None or not row.invoice_reference:
        return duplicate
    number = facts.number if facts is not None else row.invoice_reference.upper()
    if facts is not None and facts.id in already and (payment_date, amount) in already[facts.id]:
        duplicate = True
        row.add("duplicate", _("A payment of %(amount)s on %(date)s has already been imported for invoice "
                               "%(reference)s.", amount=_money(amount), date=_day(payment_date),
                               reference=number))
    seen = len(first_row_of_payment)
    first = first_row_of_payment.setdefault((number, payment_date, amount), row.row)
    if len(first_row_of_payment) == seen:
        duplicate = True
        row.add("duplicate", _("Same payment (invoice, date and amount) as row %(row)s of this file.", row=first))
    return duplicate


BATCH_TOTAL_LIMITS = cells.limits_of(PaymentImportBatch.__table__.c.total_amount)


def batch_total_error(rows: list[PaymentRow]) -> str | None:
    """The message when the rows to import add up to more than a batch's total holds
    (``Numeric(14, 2)``): the file is refused at the control screen, never at *Importer*."""
    total = sum([row.amount for row in rows if row.importable], Decimal("0.00"))
    if total > BATCH_TOTAL_LIMITS.largest:
        return _("The payments of this file add up to %(total)s, more than one import can hold "
                 "(%(largest)s): split the file.", total=_money(total), largest=_money(BATCH_TOTAL_LIMITS.largest))
    return None


# --- Writing -------------------------------------------------------------------------------

class PaymentError(ValueError):
    """An operation refused, with the message for the user."""


def import_rows(rows: list[PaymentRow], tenant_id: int, filename: str, user_email: str) -> PaymentImportBatch:
    """Write every row without a red alert as payments of one new batch (flushed: the
    caller commits, so the batch is written in one transaction or not at all)."""
    counts = count_statuses(rows)
    importable = [row for row in rows if row.importable]
    batch = PaymentImportBatch(
        tenant_id=tenant_id, user_email=user_email or "", filename=(filename or "")[:250], row_count=len(rows),
        imported_count=len(importable), warning_count=counts[WARNING], blocking_count=counts[BLOCKING],
        total_amount=sum((row.amount for row in importable), Decimal("0.00")))
    db.session.add(batch)
    db.session.flush()
    if importable:
        db.session.add_all([Payment(
            tenant_id=tenant_id, invoice_id=row.invoice_id, payment_date=row.payment_date, amount=row.amount,
            method=row.method if row.method in PAYMENT_METHODS else "other",
            accounting_reference=row.accounting_reference or None, batch_id=batch.id) for row in importable])
        db.session.flush()
    return batch


def cancel_batch(batch_id: int, tenant_id: int, user_email: str) -> PaymentImportBatch:
    """Cancel an import batch: its payments are deleted (each deletion goes to the audit
    log) and the batch is marked cancelled. Flushed; the caller commits."""
    batch = db.session.execute(select(PaymentImportBatch).where(
        PaymentImportBatch.id == batch_id, PaymentImportBatch.tenant_id == tenant_id)).scalar_one_or_none()
    if batch is None:
        raise PaymentError(_("Unknown import batch."))
    if batch.cancelled_at is not None:
        raise PaymentError(_("The import batch #%(id)s is already cancelled.", id=batch.id))
    for payment in db.session.execute(select(Payment).where(
            Payment.batch_id == batch.id, Payment.tenant_id == tenant_id)).scalars():
        db.session.delete(payment)
    batch.cancelled_at = utcnow()
    batch.cancelled_by = user_email or ""
    db.session.flush()
    return batch
