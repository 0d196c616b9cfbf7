"""The field-service rules as plain functions (no request, no query, no HTTP): which
referential rows are sent and the French reason of each one left out, the payload of
each row, and how a validated intervention becomes a draft direct invoice.

The engine (``exchange.field_service.engine``) loads the rows in batches and calls
these; tests call them at their edges.
"""
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _

from models.invoices import Invoice, InvoiceLine
from rules.invoices import compute_totals
from rules.master_data import article_kind

ORIGIN = "field_service"
VALIDATED = "VALIDATED"
SKIP_WITH_WARNING, INTEGRATE_WITH_WARNING = "skip_with_warning", "integrate_with_warning"


def _blank(text) -> bool:
    return not (text or "").strip()


def _number(value):
    """A Decimal as a JSON number (the peer reads numbers), ``None`` kept."""
    if value is None:
        return None
    return float(value)


# --- send: eligibility ---------------------------------------------------------------------------

def client_skip_reason(client) -> str | None:
    """Why a client is not sent (deactivated, no city: a blank city is no city), or None."""
    if client.deactivated:
        return _("client %(code)s: deactivated", code=client.code)
    if _blank(client.city):
        return _("client %(code)s: no city", code=client.code)
    return None


def place_skip_reason(what: str, code: str, client_code: str | None, sent_clients: set[str]) -> str | None:
    """A site or a job site goes with its client only (``what``: ``site`` / ``job_site``)."""
    if not client_code:
        return (_("site %(code)s: no client", code=code) if what == "site"
                else _("job site %(code)s: no client", code=code))
    if client_code not in sent_clients:
        return (_("site %(code)s: client %(client)s not sent", code=code, client=client_code) if what == "site"
                else _("job site %(code)s: client %(client)s not sent", code=code, client=client_code))
    return None


def employee_skip_reason(employee, today: date) -> str | None:
    """Technicians with a phone, an e-mail and a hire date strictly before ``today``
    (Europe/Paris) are sent; otherwise every rule broken is named."""
    reasons = []
    if not employee.technician:
        reasons.append(_("not a technician"))
    if _blank(employee.phone):
        reasons.append(_("no phone"))
    if _blank(employee.email):
        reasons.append(_("no e-mail"))
    if employee.hire_date is None:
        reasons.append(_("no hire date"))
    elif employee.hire_date >= today:
        reasons.append(_("hired on %(date)s, not before today", date=employee.hire_date.strftime("%d/%m/%Y")))
    if not reasons:
        return None
    return _("employee %(code)s: %(reasons)s", code=employee.code, reasons=", ".join(reasons))


def article_skip_reason(article) -> str | None:
    if not article.active:
        return _("article %(code)s: inactive", code=article.code)
    return None


# --- send: payloads ------------------------------------------------------------------------------

def client_payload(client) -> dict:
    return {"externalId": client.code, "name": client.name, "address": client.address or "",
            "postcode": client.postcode or "", "city": (client.city or "").strip(), "email": client.email or "",
            "phone": client.phone or ""}


def site_payload(site, client_code: str) -> dict:
    return {"externalId": site.code, "name": site.name, "customerId": client_code, "address": site.address or "",
            "postcode": site.postcode or "", "city": site.city or ""}


def job_site_payload(job_site, client_code: str, site_code: str | None) -> dict:
    return {"externalId": job_site.code, "name": job_site.name, "customerId": client_code, "siteId": site_code}


def technician_payload(employee) -> dict:
    return {"externalId": employee.code, "firstName": employee.first_name or "", "lastName": employee.last_name,
            "email": employee.email.strip(), "phone": employee.phone.strip()}


def article_payload(article, external_code: str | None, family: str | None, subfamily: str | None,
                    nature_code: str | None, unit: str | None, labour_prefix: str) -> dict:
    """``externalId`` is the connector's mapped code, else the article code; the kind
    comes from the dossier's labour prefix (``rules.master_data.article_kind``)."""
    return {"externalId": external_code or article.code, "label": article.label, "family": family or "",
            "subfamily": subfamily or "", "kind": article_kind(nature_code, labour_prefix).upper(),
            "unit": unit or "", "unitPrice": _number(article.sale_price)}


# --- receive --------------------------------------------------------------------------------------

def parse_instant(text) -> datetime | None:
    """An ISO-8601 instant of the peer as naive UTC (as stored); None when absent or unreadable."""
    if not text or not isinstance(text, str):
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).replace(tzinfo=None)


def service_date(text) -> date | None:
    """``completedAt`` as the date of the service, in the time zone the peer wrote it in."""
    if not text or not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError:
        return None


def is_validated(intervention) -> bool:
    return isinstance(intervention, dict) and intervention.get("status") == VALIDATED and bool(intervention.get("id"))


def _decimal(value) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


@dataclass
class References:
    """The ERP rows an intervention points at, loaded by the engine for a whole batch:
    job sites, clients and sites by code, articles by mapped external code and by code."""
    job_sites: dict = field(default_factory=dict)
    clients: dict = field(default_factory=dict)
    sites: dict = field(default_factory=dict)
    mapped_articles: dict = field(default_factory=dict)
    articles: dict = field(default_factory=dict)
    labour_prefix: str = "4MO"

    def article(self, item_id):
        item_id = str(item_id or "")
        return self.mapped_articles.get(item_id) or self.articles.get(item_id)


@dataclass
class Draft:
    invoice: Invoice | None
    warnings: list[str]
    zero_value: bool = False


def missing_references(intervention: dict, refs: References) -> list[str]:
    """What the ERP does not know among the intervention's references (French, named)."""
    missing = []
    contract = intervention.get("contractId")
    if not contract or str(contract) not in refs.job_sites:
        missing.append(_("unknown job site (contract) %(code)s", code=contract or "—"))
    customer = intervention.get("customerId")
    if not customer or str(customer) not in refs.clients:
        missing.append(_("unknown client %(code)s", code=customer or "—"))
    site = intervention.get("siteId")
    if site and str(site) not in refs.sites:
        missing.append(_("unknown site %(code)s", code=site))
    lines = intervention.get("lines") or []
    if not isinstance(lines, list):
        missing.append(_("unreadable lines"))
        return missing
    for position, line in enumerate(lines, start=1):
        if not isinstance(line, dict):
            missing.append(_("line %(position)s unreadable", position=position))
            continue
        if refs.article(line.get("itemId")) is None:
            missing.append(_("unknown article %(code)s", code=line.get("itemId") or "—"))
        for name in ("quantity", "unitPrice"):
            if _decimal(line.get(name)) is None:
                missing.append(_("line %(position)s: %(name)s is not a number", position=position, name=name))
    return list(dict.fromkeys(missing))


def draft_invoice(intervention: dict, refs: References, tenant_id: int, today: date, policy: str) -> Draft:
    """The draft direct invoice of a validated intervention whose references all exist
    (``missing_references`` empty), and its warnings; ``Draft.invoice`` is None when the
    zero-value policy leaves it out. Nothing is added to the session here."""
    job_site = refs.job_sites[str(intervention["contractId"])]
    client = refs.clients[str(intervention["customerId"])]
    site = refs.sites.get(str(intervention.get("siteId") or "")) or job_site.site
    warnings = []
    if job_site.client_id != client.id:
        warnings.append(_("client %(client)s of the intervention is not the client %(job_client)s of job site "
                          "%(job_site)s: invoiced to %(client)s", client=client.code,
                          job_client=job_site.client.code, job_site=job_site.code))
    invoice = Invoice(tenant_id=tenant_id, state="draft", number=None, invoice_date=today,
                      service_date=service_date(intervention.get("completedAt")), client=client,
                      client_id=client.id, site=site, site_id=site.id if site else None, job_site=job_site,
                      job_site_id=job_site.id, sector_id=job_site.sector_id, origin=ORIGIN,
                      external_reference=str(intervention["id"])[:80],
                      report_url=str(intervention.get("reportUrl") or "")[:500])
    for position, line in enumerate(intervention.get("lines") or [], start=1):
        article = refs.article(line.get("itemId"))
        unit_price = _decimal(line.get("unitPrice"))
        if unit_price == 0:
            warnings.append(_("line %(position)s (%(item)s) is priced at zero", position=position,
                              item=line.get("itemId")))
        invoice.lines.append(InvoiceLine(
            tenant_id=tenant_id, position=position, article=article, article_id=article.id,
            label=str(line.get("label") or article.label)[:250],
            kind=article_kind(article.nature.code if article.nature else None, refs.labour_prefix),
            quantity=_decimal(line.get("quantity")), unit_price=unit_price, vat_rate=article.vat_rate,
            vat_rate_id=article.vat_rate_id, unit_id=article.unit_id))
    compute_totals(invoice)
    zero = not invoice.lines or invoice.total_excl_vat == 0
    if zero:
        if policy == INTEGRATE_WITH_WARNING:
            warnings.append(_("zero-value intervention, integrated as the zero-value policy says"))
        else:
            invoice.lines.clear()
            return Draft(None, [_("zero-value intervention: not integrated (zero-value policy)")], True)
    return Draft(invoice, warnings, zero)


def next_watermark(previous: datetime | None, seen: list[datetime], in_error: list[datetime]) -> datetime | None:
    """Where the next receive starts: the latest ``validatedAt`` seen, but never later than
    the oldest intervention still in error (so that it is asked for again)."""
    mark = max([*seen, *([previous] if previous else [])], default=None)
    if in_error:
        oldest = min(in_error)
        mark = oldest if mark is None else min(mark, oldest)
    return mark
