"""Work order → priced draft invoice (exchanges.md, Kind 3): matching and pricing as
plain functions (no request; flush only).

- **Client**: among the tenant's clients not deactivated, the one with the work
  order's VAT number, else its e-mail, else its name ignoring case, accents and
  spacing; several at the same level → the lowest code, with a warning. Otherwise a
  client is created from the work order: code from the ``client`` numbering sequence
  when there is one, else ``<connector code>-<n>``; country from the VAT number's
  prefix, else FR. Two deliveries for the same new customer at once create one
  client: the creation first claims the key ``client:<identity>`` in the received
  documents (a unique key), so the second waits for the first, then finds its client.
- **Employees**: by e-mail, then by full name ignoring case, accents and word order.
- **Lines**: products at the article's sale price; one labour line per user (hours ×
  the employee's billable hourly rate, the connector's labour article); one mileage
  line (km × the mileage rate — the connector's, else the mileage article's sale
  price — on the connector's mileage article, else the dossier's; none when km = 0).
  An unknown product, an article without sale price, an unknown employee or one
  without rate is a problem naming it (the delivery is refused whole).
"""
import re
from dataclasses import dataclass, field
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from core import clock, search
from core.extensions import db
from exchange import received
from exchange.base import decimal_setting
from exchange.work_orders.payload import Problems, WorkOrder
from models import Article, Client, DossierSettings, Employee
from models.invoices import Invoice, InvoiceLine
from rules.attachments import attach
from rules.invoices import compute_totals
from rules.numbering import NumberingError, find_sequence, take_next_number

ORIGIN = "work_order"
EU_PREFIXES = {"EL": "GR"}  # the VAT prefix of Greece is not its ISO code


def fold(text: str | None) -> str:
    """Without accents nor case (the search's one fold), spaces collapsed."""
    return " ".join(search.fold(text or "").split())


def name_key(text: str | None) -> str:
    """A party's name ignoring case, accents and spacing."""
    return fold(text).replace(" ", "")


def person_key(text: str | None) -> str:
    """A person's full name ignoring case, accents and word order."""
    return " ".join(sorted(fold(text).replace("-", " ").split()))


def compact_vat(text: str | None) -> str:
    return re.sub(r"[\s.\-]", "", str(text or "")).upper()


def country_of(vat_number: str | None) -> str:
    prefix = compact_vat(vat_number)[:2]
    if len(prefix) == 2 and prefix.isalpha():
        return EU_PREFIXES.get(prefix, prefix)
    return "FR"


# --- client -----------------------------------------------------------------------------------------

@dataclass
class ClientMatch:
    client: Client | None
    warning: str = ""    # several clients at the same level
    note: str = ""       # a client created from the work order


def _lowest(candidates: list[Client], level: str) -> ClientMatch:
    candidates = sorted(candidates, key=lambda c: c.code)
    if len(candidates) == 1:
        return ClientMatch(candidates[0])
    return ClientMatch(candidates[0], _(
        "Several clients have this %(level)s (%(codes)s): the work order went to %(code)s, the lowest code.",
        level=level, codes=", ".join(c.code for c in candidates), code=candidates[0].code))


def match_client(tenant_id: int, customer) -> ClientMatch:
    active = (Client.tenant_id == tenant_id, Client.deactivated.is_(False))
    vat = compact_vat(customer.vat_number)
    if vat:
        found = list(db.session.scalars(select(Client).where(*active, Client.vat_number == vat)))
        if found:
            return _lowest(found, _("VAT number"))
    email = (customer.email or "").strip().lower()
    if email:
        found = list(db.session.scalars(select(Client).where(*active, func.lower(Client.email) == email)))
        if found:
            return _lowest(found, _("e-mail address"))
    key = name_key(customer.name)
    if key:
        rows = db.session.execute(select(Client.id, Client.name).where(*active)).all()
        ids = [row.id for row in rows if name_key(row.name) == key]
        if ids:
            return _lowest(list(db.session.scalars(select(Client).where(Client.id.in_(ids)))),
                           _("name (ignoring case, accents and spacing)"))
    return ClientMatch(None)


def identity_key(customer) -> str:
    """The key two deliveries for the same new customer share."""
    vat = compact_vat(customer.vat_number)
    if vat:
        return f"client:vat:{vat}"
    if customer.email:
        return f"client:email:{customer.email.strip().lower()}"
    return f"client:name:{name_key(customer.name)}"


def _next_connector_code(tenant_id: int, prefix: str) -> str:
    codes = db.session.scalars(select(Client.code).where(Client.tenant_id == tenant_id,
                                                         Client.code.like(f"{prefix}-%")))
    numbers = [int(code[len(prefix) + 1:]) for code in codes if code[len(prefix) + 1:].isdigit()]
    return f"{prefix}-{max(numbers, default=0) + 1:03d}"


def _new_client_code(tenant_id: int, connector_code: str) -> str:
    try:
        sequence = find_sequence(tenant_id, "client")
    except NumberingError:
        return _next_connector_code(tenant_id, connector_code)
    return take_next_number(sequence.id).formatted


def create_client(tenant_id: int, connector_code: str, customer) -> Client:
    """A new client from the work order's customer (flushed; a code taken meanwhile by
    another transaction is retried with the next one)."""
    for _attempt in range(5):
        client = Client(tenant_id=tenant_id, code=_new_client_code(tenant_id, connector_code)[:40],
                        name=customer.name, email=customer.email, vat_number=compact_vat(customer.vat_number),
                        address=customer.address, postcode=customer.postcode, city=customer.city,
                        country=country_of(customer.vat_number))
        try:
            with db.session.begin_nested():
                db.session.add(client)
                db.session.flush()
            return client
        except IntegrityError:
            continue
    raise RuntimeError("no free client code")


def resolve_client(run, customer) -> ClientMatch:
    """The matched client, else a new one, created once even by two deliveries at once."""
    tenant_id = run.connector.tenant_id
    match = match_client(tenant_id, customer)
    if match.client is not None:
        return match
    key = identity_key(customer)
    try:
        with db.session.begin_nested():
            record = received.claim(run, key, "client")
    except received.AlreadyReceived:
        # Another delivery created (or is creating: we waited for it) this customer.
        match = match_client(tenant_id, customer)
        if match.client is not None:
            return match
        record = received.known(run.connector.id, [key]).get(key[:received.KEY_LENGTH])
    client = create_client(tenant_id, run.connector.code, customer)
    if record is not None:
        record.document_id = client.id
    return ClientMatch(client, note=_("New client %(code)s created from the work order.", code=client.code))


# --- employees and articles -------------------------------------------------------------------------

def match_employee(tenant_id: int, user) -> Employee | None:
    email = (user.email or "").strip().lower()
    if email:
        found = db.session.scalars(select(Employee).where(Employee.tenant_id == tenant_id,
                                                          func.lower(Employee.email) == email)
                                   .order_by(Employee.code)).first()
        if found is not None:
            return found
    key = person_key(user.full_name)
    rows = db.session.execute(select(Employee.id, Employee.code, Employee.first_name, Employee.last_name)
                              .where(Employee.tenant_id == tenant_id).order_by(Employee.code)).all()
    for row in rows:
        if person_key(f"{row.first_name} {row.last_name}") == key:
            return db.session.get(Employee, row.id)
    return None


def find_article(tenant_id: int, code: str | None) -> Article | None:
    code = (code or "").strip()
    if not code:
        return None
    article = db.session.scalars(select(Article).where(Article.tenant_id == tenant_id, Article.code == code)).first()
    if article is None:
        article = db.session.scalars(select(Article).where(Article.tenant_id == tenant_id,
                                                           func.upper(Article.code) == code.upper())
                                     .order_by(Article.code)).first()
    return article


# --- pricing ----------------------------------------------------------------------------------------

@dataclass
class PlannedLine:
    article: Article
    label: str
    kind: str
    quantity: Decimal
    unit_price: Decimal


@dataclass
class Plan:
    lines: list[PlannedLine] = field(default_factory=list)


def mileage_article(tenant_id: int, settings: dict) -> Article | None:
    code = (settings.get("mileage_article") or "").strip()
    if not code:
        code = db.session.scalar(select(DossierSettings.mileage_article_reference)
                                 .where(DossierSettings.tenant_id == tenant_id)) or ""
    return find_article(tenant_id, code) if code.strip() else None


def price(tenant_id: int, settings: dict, work_order: WorkOrder, problems: Problems) -> Plan:
    """Every line of the draft, or the problems that keep it from being priced."""
    plan = Plan()
    for position, product in enumerate(work_order.products):
        where = f"products[{position}]"
        article = find_article(tenant_id, product.code)
        if article is None or not article.active:
            problems.add(where, _("Unknown product %(code)s: no active article has this code.", code=product.code))
        elif article.sale_price is None:
            problems.add(where, _("Article %(code)s has no sale price: set it, then post the work order again.",
                                  code=article.code))
        else:
            plan.lines.append(PlannedLine(article, article.label, "supply", product.quantity, article.sale_price))
    labour = find_article(tenant_id, settings.get("labour_article"))
    if work_order.users and labour is None:
        problems.add("users", _("The connector has no labour article: set it in the connector's settings."))
    for position, user in enumerate(work_order.users):
        where = f"users[{position}]"
        employee = match_employee(tenant_id, user)
        if employee is None:
            problems.add(where, _("Unknown employee %(name)s (%(email)s): create the employee and set a rate.",
                                  name=user.full_name, email=user.email or "—"))
        elif employee.billable_hourly_rate is None:
            problems.add(where, _("Employee %(code)s (%(name)s) has no billable hourly rate: create the employee "
                                  "and set a rate.", code=employee.code, name=user.full_name))
        elif labour is not None:
            name = f"{employee.first_name} {employee.last_name}".strip()
            plan.lines.append(PlannedLine(labour, f"{labour.label} — {name}"[:250], "labour", user.hours,
                                          employee.billable_hourly_rate))
    if work_order.km:
        article = mileage_article(tenant_id, settings)
        rate = decimal_setting(settings, "mileage_rate")
        if article is None:
            problems.add("km", _("No mileage article: set the connector's mileage article or the dossier's."))
        elif rate is None and article.sale_price is None:
            problems.add("km", _("No mileage rate: set the connector's mileage rate or the sale price of "
                                 "article %(code)s.", code=article.code))
        else:
            plan.lines.append(PlannedLine(article, article.label, "travel", work_order.km,
                                          rate if rate is not None else article.sale_price))
    return plan


def number_taken(tenant_id: int, number: str) -> int | None:
    """The invoice already holding this work-order number (from another id), if any."""
    return db.session.scalar(select(Invoice.id).where(Invoice.tenant_id == tenant_id, Invoice.origin == ORIGIN,
                                                      Invoice.external_reference == number))


def create_invoice(run, work_order: WorkOrder, plan: Plan, client: Client) -> Invoice:
    """The draft invoice of a priced work order (flushed, in the caller's transaction)."""
    tenant_id = run.connector.tenant_id
    invoice = Invoice(tenant_id=tenant_id, state="draft", client=client, invoice_date=clock.today(),
                      service_date=work_order.service_date, origin=ORIGIN, external_reference=work_order.number,
                      memo=work_order.memo, internal_note=work_order.internal_note)
    db.session.add(invoice)
    for position, planned in enumerate(plan.lines, start=1):
        invoice.lines.append(InvoiceLine(
            tenant_id=tenant_id, position=position, article=planned.article, label=planned.label,
            kind=planned.kind, quantity=planned.quantity, unit_price=planned.unit_price,
            vat_rate=planned.article.vat_rate, unit=planned.article.unit))
    db.session.flush()
    compute_totals(invoice)
    for attachment in work_order.attachments:
        attach(invoice, attachment.file_name, attachment.content)
    db.session.flush()
    return invoice
