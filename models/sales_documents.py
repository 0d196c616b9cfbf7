"""Orders (commandes) and delivery notes (bons de livraison): header and lines like
invoices, numbered from their sequences on creation and created as drafts.

The columns the two pairs share live in the ``SalesDocument`` / ``SalesDocumentLine``
mixins; each concrete table only adds its name, its constraints and the link between
header and lines. The invoices' tables are left as they are.
"""
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint, Date, DateTime, ForeignKey, Index, Integer, Numeric, String, UniqueConstraint,
)
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from core import clock
from core.extensions import db
from models.base import TenantScoped, utcnow

SALES_DOCUMENT_STATES = ("draft", "validated", "cancelled")
ZERO = Decimal("0.00")


class SalesDocument(TenantScoped):
    """Columns of a sales document header (order, delivery note)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(20), default="draft")
    document_date: Mapped[date] = mapped_column(Date, default=clock.today)
    origin: Mapped[str] = mapped_column(String(40), default="manual")
    external_reference: Mapped[str | None] = mapped_column(String(80))
    payment_method: Mapped[str] = mapped_column(String(80), default="")  # the partner's ModeReglement
    total_excl_vat: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=ZERO)
    total_vat: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=ZERO)
    total_incl_vat: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=ZERO)
    sequence_number: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    @declared_attr
    def tenant_id(cls) -> Mapped[int]:
        """Not indexed alone: the unique (tenant, number) index serves a tenant's look-ups,
        and a bulk reception (P1) writes one index less per document."""
        return mapped_column(ForeignKey("tenants.id"), nullable=False)

    @declared_attr
    def client_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("clients.id"), index=True)

    @declared_attr
    def site_id(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey("sites.id"), index=True)

    @declared_attr
    def establishment_id(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey("establishments.id"))

    @declared_attr
    def depot_id(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey("depots.id"))

    @declared_attr
    def numbering_sequence_id(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey("numbering_sequences.id"))

    @declared_attr
    def client(cls):
        return relationship("Client")

    @declared_attr
    def site(cls):
        return relationship("Site")

    @declared_attr
    def establishment(cls):
        return relationship("Establishment")

    @declared_attr
    def depot(cls):
        return relationship("Depot")

    @declared_attr
    def numbering_sequence(cls):
        return relationship("NumberingSequence")

    @declared_attr.directive
    def __table_args__(cls):
        table = cls.__tablename__
        return (
            UniqueConstraint("tenant_id", "number"),
            UniqueConstraint("tenant_id", "origin", "external_reference"),
            Index(f"ix_{table}_sequence_number", "numbering_sequence_id", "sequence_number"),
            CheckConstraint("state IN ('draft', 'validated', 'cancelled')", name="state_known"),
        )

    @property
    def code(self) -> str:
        return self.number or f"#{self.id}"

    def __str__(self) -> str:
        return self.number or f"#{self.id}"


class SalesDocumentLine(TenantScoped):
    """Columns of a sales document line; the concrete class adds the link to its header."""

    id: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    label: Mapped[str] = mapped_column(String(250), default="")
    kind: Mapped[str] = mapped_column(String(20), default="supply")
    quantity: Mapped[Decimal] = mapped_column(Numeric(14, 4), default=Decimal("1"))
    unit_price: Mapped[Decimal] = mapped_column(Numeric(14, 4), default=ZERO)
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=ZERO)

    @declared_attr
    def tenant_id(cls) -> Mapped[int]:
        """Not indexed: lines are read through their header, never by tenant; the index
        was only ever written (100,000 entries for a 20,000-document reception, P1)."""
        return mapped_column(ForeignKey("tenants.id"), nullable=False)

    @declared_attr
    def article_id(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey("articles.id"))

    @declared_attr
    def vat_rate_id(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey("vat_rates.id"))

    @declared_attr
    def unit_id(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey("units.id"))

    @declared_attr
    def article(cls):
        return relationship("Article")

    @declared_attr
    def vat_rate(cls):
        return relationship("VatRate")

    @declared_attr
    def unit(cls):
        return relationship("Unit")


class Order(SalesDocument, db.Model):
    __tablename__ = "orders"

    lines: Mapped[list["OrderLine"]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderLine.position")


class OrderLine(SalesDocumentLine, db.Model):
    __tablename__ = "order_lines"
    __audit_parent__ = "order"

    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    order: Mapped[Order] = relationship(back_populates="lines")


class DeliveryNote(SalesDocument, db.Model):
    __tablename__ = "delivery_notes"

    lines: Mapped[list["DeliveryNoteLine"]] = relationship(
        back_populates="delivery_note", cascade="all, delete-orphan", order_by="DeliveryNoteLine.position")


class DeliveryNoteLine(SalesDocumentLine, db.Model):
    __tablename__ = "delivery_note_lines"
    __audit_parent__ = "delivery_note"

    delivery_note_id: Mapped[int] = mapped_column(
        ForeignKey("delivery_notes.id", ondelete="CASCADE"), index=True)
    delivery_note: Mapped[DeliveryNote] = relationship(back_populates="lines")


SALES_DOCUMENT_MODELS = {"order": (Order, OrderLine), "delivery_note": (DeliveryNote, DeliveryNoteLine)}
