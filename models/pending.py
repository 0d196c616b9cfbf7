"""Pending data of a CSV exchange connector: what *Réceptionner* read from the
partner's files and *Recevoir* has not integrated yet (a document waiting for an
article mapping or its party, a party whose file was read).

Rows carry ``tenant_id`` but are not ``TenantScoped``: they are written in bulk by
a run, audited once per run. A document is one row with its lines as JSON (read
and deleted whole); reading a reference again replaces its pending row.
"""
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Date, DateTime, ForeignKey, Index, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db
from models.base import utcnow

PARTY_TYPES = ("CLIENT", "FOURNISSEUR", "CONTACT")


class PendingDocument(db.Model):
    __tablename__ = "pending_documents"
    __table_args__ = (UniqueConstraint("connector_id", "reference"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    connector_id: Mapped[int] = mapped_column(ForeignKey("connectors.id", ondelete="CASCADE"))
    reference: Mapped[str] = mapped_column(String(80))
    document_date: Mapped[date] = mapped_column(Date)
    party_code: Mapped[str] = mapped_column(String(40), default="")
    party_name: Mapped[str] = mapped_column(String(200), default="")
    payment_method: Mapped[str] = mapped_column(String(80), default="")
    # [{"line": 1, "code": "SRV", "label": "…", "quantity": "1", "unit_price": "71.88", "vat_rate": "20"}]
    lines: Mapped[list] = mapped_column(JSON, default=list)
    total: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=0)
    content_hash: Mapped[str] = mapped_column(String(64), default="")
    file_name: Mapped[str] = mapped_column(String(250), default="")
    read_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class PendingParty(db.Model):
    __tablename__ = "pending_parties"
    __table_args__ = (UniqueConstraint("connector_id", "party_type", "code"),
                      Index("ix_pending_parties_tenant", "tenant_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    connector_id: Mapped[int] = mapped_column(ForeignKey("connectors.id", ondelete="CASCADE"))
    party_type: Mapped[str] = mapped_column(String(12))      # CLIENT, FOURNISSEUR, CONTACT
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200), default="")
    address: Mapped[str] = mapped_column(String(250), default="")
    postcode: Mapped[str] = mapped_column(String(10), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    phone: Mapped[str] = mapped_column(String(30), default="")
    parent_code: Mapped[str] = mapped_column(String(40), default="")
    file_name: Mapped[str] = mapped_column(String(250), default="")
    read_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
