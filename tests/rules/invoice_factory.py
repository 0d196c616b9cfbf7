"""Building draft invoices for tests (shared by rule, view and concurrency tests)."""
from datetime import date
from decimal import Decimal

from core.extensions import db
from models import NumberingSequence, VatRate
from models.invoices import Invoice, InvoiceLine
from models.master_data import Client


def invoice_setup(tenant_id: int, prefix: str = "FA") -> dict:
    """A client, VAT rates 20 and 5.5 and a gapless invoice sequence; returns their ids."""
    client = Client(tenant_id=tenant_id, code="C001", name="Dupont Bâtiment")
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
