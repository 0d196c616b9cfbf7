"""Invoices (factures): header, lines and attachments. The number is empty until
validation takes it from the tenant's invoice numbering sequence."""
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean, CheckConstraint, Date, DateTime, ForeignKey, Index, Integer, LargeBinary, Numeric, String, Text,
    UniqueConstraint, text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core import clock
from core.extensions import db
from models.base import TenantScoped, utcnow

INVOICE_STATES = ("draft", "validated", "cancelled")
INVOICE_KINDS = ("invoice", "credit_note")
OPERATION_CATEGORIES = ("goods", "services", "mixed")
LINE_KINDS = ("labour", "supply", "travel", "other")
SERVICE_LINE_KINDS = ("labour", "travel")  # the others are goods (operation category)
ZERO = Decimal("0.00")


class Invoice(TenantScoped, db.Model):
    __tablename__ = "invoices"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        UniqueConstraint("tenant_id", "origin", "external_reference"),
        Index("ix_invoices_sequence_number", "numbering_sequence_id", "sequence_number"),
        # Partial: only credit notes have a credited invoice. A full index is all NULLs
        # on most tenants, and SQLite's ANALYZE then rates it useless: every "credited
        # amount" subquery scanned the whole table, once per invoice (P4: 45 s).
        Index("ix_invoices_credited_invoice_id", "credited_invoice_id",
              sqlite_where=text("credited_invoice_id IS NOT NULL"),
              postgresql_where=text("credited_invoice_id IS NOT NULL")),
        CheckConstraint("state IN ('draft', 'validated', 'cancelled')", name="state_known"),
        CheckConstraint("kind IN ('invoice', 'credit_note')", name="kind_known"),
        CheckConstraint("(kind = 'credit_note') = (credited_invoice_id IS NOT NULL)", name="credit_note_credits"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(20), default="draft")
    invoice_date: Mapped[date] = mapped_column(Date, default=clock.today)
    service_date: Mapped[date | None] = mapped_column(Date)  # when the work was done (received documents)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"), index=True)
    job_site_id: Mapped[int | None] = mapped_column(ForeignKey("job_sites.id"), index=True)
    sector_id: Mapped[int | None] = mapped_column(ForeignKey("sectors.id"))
    establishment_id: Mapped[int | None] = mapped_column(ForeignKey("establishments.id"))
    origin: Mapped[str] = mapped_column(String(40), default="manual")
    external_reference: Mapped[str | None] = mapped_column(String(80))
    report_url: Mapped[str] = mapped_column(String(500), default="")
    memo: Mapped[str] = mapped_column(Text, default="")
    internal_note: Mapped[str] = mapped_column(Text, default="")
    total_excl_vat: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=ZERO)
    total_vat: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=ZERO)
    total_incl_vat: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=ZERO)
    numbering_sequence_id: Mapped[int | None] = mapped_column(ForeignKey("numbering_sequences.id"))
    sequence_number: Mapped[int | None] = mapped_column(Integer)
    validated_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Legal invoices (invoicing.md): an invoice or a credit note (positive amounts, type 381)
    kind: Mapped[str] = mapped_column(String(20), default="invoice", server_default="invoice")
    credited_invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id"))
    due_date: Mapped[date | None] = mapped_column(Date)  # from the payment terms when empty
    operation_category: Mapped[str | None] = mapped_column(String(20))  # from the line kinds when empty
    reverse_charge: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    buyer_reference: Mapped[str] = mapped_column(String(100), default="", server_default="")
    # The seller's and buyer's identity as they were at validation (JSON): the document
    # renders from it forever
    identity_snapshot: Mapped[str | None] = mapped_column(Text)

    client = relationship("Client")
    site = relationship("Site")
    job_site = relationship("JobSite")
    sector = relationship("Sector")
    establishment = relationship("Establishment")
    numbering_sequence = relationship("NumberingSequence")
    lines: Mapped[list["InvoiceLine"]] = relationship(
        back_populates="invoice", cascade="all, delete-orphan", order_by="InvoiceLine.position")
    attachments: Mapped[list["InvoiceAttachment"]] = relationship(
        back_populates="invoice", cascade="all, delete-orphan")
    credited_invoice: Mapped["Invoice | None"] = relationship(remote_side=[id], foreign_keys=[credited_invoice_id])

    @property
    def is_credit_note(self) -> bool:
        return self.kind == "credit_note"

    # Every UPDATE of an invoice says ``WHERE state = <the state it was read in>``: an
    # invoice validated meanwhile by someone else is never validated (or edited) again.
    __mapper_args__ = {"version_id_col": state, "version_id_generator": False}

    @property
    def code(self) -> str:
        return self.number or f"#{self.id}"

    def __str__(self) -> str:
        if self.number:
            return self.number
        return f"Avoir brouillon #{self.id}" if self.kind == "credit_note" else f"Brouillon #{self.id}"


class InvoiceLine(TenantScoped, db.Model):
    __tablename__ = "invoice_lines"
    __audit_parent__ = "invoice"  # the audit log names a line by its invoice and position

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id"))
    label: Mapped[str] = mapped_column(String(250), default="")
    kind: Mapped[str] = mapped_column(String(20), default="supply")
    quantity: Mapped[Decimal] = mapped_column(Numeric(14, 4), default=Decimal("1"))
    unit_price: Mapped[Decimal] = mapped_column(Numeric(14, 4), default=ZERO)
    vat_rate_id: Mapped[int | None] = mapped_column(ForeignKey("vat_rates.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=ZERO)

    invoice: Mapped[Invoice] = relationship(back_populates="lines")
    article = relationship("Article")
    vat_rate = relationship("VatRate")
    unit = relationship("Unit")


class InvoiceAttachment(TenantScoped, db.Model):
    __tablename__ = "invoice_attachments"
    __audit_parent__ = "invoice"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(250))
    content_type: Mapped[str] = mapped_column(String(100), default="application/octet-stream")
    content: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    invoice: Mapped[Invoice] = relationship(back_populates="attachments")


class InvoiceDocument(TenantScoped, db.Model):
    """The PDF of a validated invoice or credit note, rendered once after its validation
    and served byte-identical afterwards (its SHA-256 is in the audit log)."""
    __tablename__ = "invoice_documents"
    __audit_parent__ = "invoice"
    __audit_masked__ = ("content",)  # the audit keeps its SHA-256

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"), unique=True)
    filename: Mapped[str] = mapped_column(String(250))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    invoice: Mapped[Invoice] = relationship()


def credited_amounts_by_invoice(tenant_id: int):
    """SQL: a subquery (``invoice_id``, ``amount``) of the total incl. VAT of the tenant's
    validated credit notes per credited invoice, to join to many invoices at once: one
    pass over the credit notes instead of ``credited_amount_of``'s look-up per invoice
    (whose estimated cost also makes PostgreSQL compile the query with its JIT)."""
    from sqlalchemy import func, select
    credit = Invoice.__table__.alias("credit_note")
    return (select(credit.c.credited_invoice_id.label("invoice_id"), func.sum(credit.c.total_incl_vat).label("amount"))
            .where(credit.c.tenant_id == tenant_id, credit.c.state == "validated",
                   credit.c.credited_invoice_id.isnot(None))
            .group_by(credit.c.credited_invoice_id).subquery("credited"))


def credited_amount_of(invoice_id_column):
    """SQL: the total incl. VAT of the validated credit notes of the invoice ``invoice_id_column``."""
    from sqlalchemy import func, select
    credit = Invoice.__table__.alias("credit_note")  # a table alias: no mapper configured at import
    return (select(func.coalesce(func.sum(credit.c.total_incl_vat), 0))
            .where(credit.c.credited_invoice_id == invoice_id_column, credit.c.state == "validated")
            .correlate_except(credit).scalar_subquery())
