"""What the law needs on an invoice (``invoicing.md``): the items checked before a
validation (all missing ones listed at once), the due date and operation category
computed from the settings and the lines, and the snapshot of the seller's and buyer's
identity kept at validation (the document renders from it forever)."""
import calendar
import json
from datetime import date, timedelta
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from models.invoices import SERVICE_LINE_KINDS, Invoice

MAX_NUMBER_LENGTH = 35  # BR-FR: an invoice number is at most 35 characters
FRENCH_VAT_RATES = tuple(Decimal(rate) for rate in ("20", "10", "8.5", "5.5", "2.1", "1.05", "0.9", "0"))
SELLER_FIELDS = (
    "legal_name", "legal_form", "share_capital", "siren", "siret", "vat_number", "registration", "address",
    "postcode", "city", "country", "email", "phone", "iban", "bic", "payment_terms_days",
    "payment_terms_end_of_month", "late_penalty_rate", "early_payment_discount", "vat_on_debits",
    "insurer_name", "insurer_address", "insurance_policy", "insurance_coverage", "electronic_address")
BUYER_FIELDS = ("code", "name", "address", "postcode", "city", "country", "email", "phone", "vat_number", "siret",
                "siren", "professional", "electronic_address")

# translated when one is missing only (every validation checks them)
IDENTITY_ITEMS = (("legal_name", _l("legal name")), ("siren", _l("SIREN")), ("vat_number", _l("VAT number")),
                  ("address", _l("address")), ("postcode", _l("postcode")), ("city", _l("city")),
                  ("iban", _l("IBAN (payment by transfer)")))


def identity_errors(settings) -> list[str]:
    """What the company identity (dossier settings, tab *Société*) lacks for the document."""
    missing = [label for name, label in IDENTITY_ITEMS if not (getattr(settings, name, None) or "").strip()]
    if not missing:
        return []
    return [_("The company identity (dossier settings, tab Company) lacks: %(items)s.",
              items=", ".join(str(label) for label in missing))]


def client_siren(client) -> str:
    """The client's SIREN: its own, else the first nine digits of its SIRET."""
    if client.siren:
        return client.siren
    return (client.siret or "")[:9]


def is_french(country) -> bool:
    return (country or "FR").strip().upper() in ("FR", "FRANCE", "")


def invoice_legal_errors(invoice: Invoice, settings) -> list[str]:
    """Every legal item an invoice (or credit note) lacks before it can be validated."""
    errors = identity_errors(settings)
    client = invoice.client
    if client is not None and client.professional:
        if is_french(client.country) and not client_siren(client):
            errors.append(_("The client %(client)s is a business: its SIREN (or SIRET) is needed.",
                            client=client.code))
        elif not is_french(client.country) and not (client.vat_number or "").strip():
            errors.append(_("The client %(client)s is a foreign business: its VAT number is needed.",
                            client=client.code))
    if invoice.reverse_charge and client is not None and not (client.vat_number or "").strip():
        errors.append(_("Reverse charge needs the VAT number of the client %(client)s.", client=client.code))
    units = sorted({line.unit.code for line in invoice.lines if line.unit is not None and not line.unit.un_ece_code})
    if units:
        errors.append(_("These units have no UN/ECE code (Parameters, Units): %(units)s.", units=", ".join(units)))
    if not invoice.lines:
        errors.append(_("The invoice has no line."))
    return errors


def due_date_for(invoice_date: date, settings) -> date:
    """The invoice date plus the payment terms, at the end of that month when set."""
    due = invoice_date + timedelta(days=int(getattr(settings, "payment_terms_days", None) or 0))
    if getattr(settings, "payment_terms_end_of_month", False):
        due = due.replace(day=calendar.monthrange(due.year, due.month)[1])
    return due


def operation_category_of(lines) -> str:
    """``services`` (labour, travel), ``goods`` (supply, other) or ``mixed``."""
    kinds = {"services" if line.kind in SERVICE_LINE_KINDS else "goods" for line in lines}
    if len(kinds) == 1:
        return kinds.pop()
    return "mixed" if kinds else "services"


def _plain(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def identity_snapshot(invoice: Invoice, settings) -> str:
    """The seller, the buyer and the delivery place as they are now, as JSON."""
    client, job_site = invoice.client, invoice.job_site
    data = {
        "seller": {name: _plain(getattr(settings, name, None)) for name in SELLER_FIELDS},
        "buyer": {name: _plain(getattr(client, name, None)) for name in BUYER_FIELDS},
        "delivery": None,
    }
    data["buyer"]["siren"] = client_siren(client)
    if job_site is not None and (job_site.address or job_site.city):
        data["delivery"] = {"name": job_site.name, "address": job_site.address, "postcode": job_site.postcode,
                            "city": job_site.city, "country": client.country or "FR"}
    if invoice.kind == "credit_note" and invoice.credited_invoice is not None:
        data["credited"] = {"number": invoice.credited_invoice.number,
                            "date": invoice.credited_invoice.invoice_date.isoformat()}
    return json.dumps(data, ensure_ascii=False, sort_keys=True)
