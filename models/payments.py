"""Customer payments (règlements) and the import batches they come from.

A payment belongs to one invoice of its tenant. Payments imported from the
accounting's Excel file carry their batch; cancelling a batch removes its
payments. The accounting reference, when given, is unique in a tenant (empty
references are stored as NULL, which the unique constraint lets repeat).

``Invoice.outstanding_amount`` (total incl. VAT − sum of its payments) is added
to the invoice mapper here, as one SQL expression, so that lists, details,
exports and sorts read it in the same query as the invoice.
"""
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    case, type_coerce,
    CheckConstraint, Date, DateTime, ForeignKey, Index, Integer, Numeric, String, UniqueConstraint, func, select,
)
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from core.extensions import db
from models.base import TenantScoped, utcnow
from models.invoices import Invoice, credited_amount_of

PAYMENT_METHODS = ("cheque", "transfer", "card", "cash", "direct_debit", "other")


class PaymentImportBatch(TenantScoped, db.Model):
    """One import of the accounting's file: who, when, which file, its row counts."""

    __tablename__ = "payment_import_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    user_email: Mapped[str] = mapped_column(String(254), default="")
    filename: Mapped[str] = mapped_column(String(250), default="")
    row_count: Mapped[int] = mapped_column(Integer, default=0)        # data rows of the file
    imported_count: Mapped[int] = mapped_column(Integer, default=0)   # rows written (ok + warning)
    warning_count: Mapped[int] = mapped_column(Integer, default=0)    # rows written with a yellow alert
    blocking_count: Mapped[int] = mapped_column(Integer, default=0)   # rows left out (red alert)
    total_amount: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0.00"))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime)
    cancelled_by: Mapped[str] = mapped_column(String(254), default="")

    payments: Mapped[list["Payment"]] = relationship(back_populates="batch")

    @property
    def code(self) -> str:
        return f"#{self.id}"

    def __str__(self) -> str:
        return f"#{self.id} — {self.filename}"


class Payment(TenantScoped, db.Model):
    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("tenant_id", "accounting_reference"),
        Index("ix_payments_invoice_date", "invoice_id", "payment_date"),
        Index("ix_payments_tenant_date", "tenant_id", "payment_date"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("method IN ('cheque', 'transfer', 'card', 'cash', 'direct_debit', 'other')",
                        name="method_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"))  # indexed by ix_payments_invoice_date
    payment_date: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    method: Mapped[str] = mapped_column(String(20), default="other")
    accounting_reference: Mapped[str | None] = mapped_column(String(80))
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("payment_import_batches.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    invoice: Mapped[Invoice] = relationship()
    batch: Mapped[PaymentImportBatch | None] = relationship(back_populates="payments")

    @property
    def code(self) -> str:
        return self.accounting_reference or f"#{self.id}"

    def __str__(self) -> str:
        return self.code


def paid_amount_of(invoice_id_column):
    """SQL: the sum of the payments of the invoice ``invoice_id_column`` (0 without payment)."""
    return (select(func.coalesce(func.sum(Payment.amount), 0))
            .where(Payment.invoice_id == invoice_id_column)
            .correlate_except(Payment).scalar_subquery())


# Outstanding amount of an invoice = total incl. VAT − sum of its payments − its validated
# credit notes; a credit note's own is zero (it counts on the invoice it credits).
Invoice.outstanding_amount = column_property(type_coerce(
    case((Invoice.kind == "credit_note", 0),
         else_=Invoice.total_incl_vat - paid_amount_of(Invoice.id) - credited_amount_of(Invoice.id)),
    Numeric(14, 2)).label("outstanding_amount"))
