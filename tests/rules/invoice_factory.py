"""Building draft invoices for tests (shared by rule, view and concurrency tests)."""
from datetime import date
from decimal import Decimal

from core.extensions import db
from models import NumberingSequence, VatRate
from models.invoices import Invoice, InvoiceLine
from models.master_data import Client


COMPANY = {
    "legal_name": "Bâti Rhône SAS", "legal_form": "SAS", "share_capital": Decimal("50000"),
    "siren": "732829320", "siret": "73282932000074", "vat_number": "FR44732829320",
    "registration": "RCS Lyon", "address": "12 rue de la République", "postcode": "69002", "city": "Lyon",
    "country": "FR", "email": "compta@bati-rhone.fr", "phone": "04 78 00 00 00",
    "iban": "FR1420041010050500013M02606", "bic": "PSSTFRPPLYO", "late_penalty_rate": Decimal("10.5"),
    "insurer_name": "SMABTP", "insurer_address": "8 rue Louis Armand, 75015 Paris",
    "insurance_policy": "DEC-2026-00042", "insurance_coverage": "France métropolitaine",
}


def legal_identity(tenant_id: int, credit_prefix: str = "AV") -> None:
    """A complete company identity (dossier settings, tab Société) and a gapless
    credit-note sequence, so that the tenant's invoices validate (invoicing.md)."""
    from rules.settings import settings_for
    settings = settings_for(tenant_id)
    for name, value in COMPANY.items():
        setattr(settings, name, value)
    if not db.session.query(NumberingSequence).filter_by(tenant_id=tenant_id, document_type="credit_note").count():
        db.session.add(NumberingSequence(tenant_id=tenant_id, code="AVO", label="Avoirs", document_type="credit_note",
                                         prefix=credit_prefix, padding=5, next_number=1, gapless=True))
    db.session.flush()


def invoice_setup(tenant_id: int, prefix: str = "FA") -> dict:
    """A complete company identity, a client (a business with its SIREN), VAT rates 20 and
    5.5, a gapless invoice sequence and a credit-note one; returns their ids."""
    legal_identity(tenant_id)
    client = Client(tenant_id=tenant_id, code="C001", name="Dupont Bâtiment", siren="552100554",
                    address="3 avenue Foch", postcode="69006", city="Lyon")
    vat20 = VatRate(tenant_id=tenant_id, code="T20", label="TVA 20 %", rate=Decimal("20"))
    vat55 = VatRate(tenant_id=tenant_id, code="T55", label="TVA 5,5 %", rate=Decimal("5.5"))
    sequence = NumberingSequence(tenant_id=tenant_id, code="FAC", label="Factures", document_type="invoice",
                                 prefix=prefix, padding=5, next_number=1, gapless=True)
    db.session.add_all([client, vat20, vat55, sequence])
    db.session.flush()
    return {"client": client.id, "vat20": vat20.id, "vat55": vat55.id, "sequence": sequence.id}


def draft_invoice(tenant_id: int, setup: dict, lines=((Decimal("2"), Decimal("50"), "vat20"),),
                  invoice_date: date | None = None) -> Invoice:
    invoice = Invoice(tenant_id=tenant_id, client_id=setup["client"], invoice_date=invoice_date or date.today(),
                      state="draft")
    invoice.lines = [InvoiceLine(tenant_id=tenant_id, position=i, label=f"Ligne {i}", quantity=q, unit_price=p,
                                 vat_rate_id=setup[vat]) for i, (q, p, vat) in enumerate(lines)]
    db.session.add(invoice)
    db.session.flush()
    return invoice
