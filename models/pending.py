"""Pending data of a CSV exchange connector: what *Réceptionner* read from the
partner's files and *Recevoir* has not integrated yet (a document waiting for an
article mapping or its party, a party whose file was read).

Rows carry ``tenant_id`` but are not ``TenantScoped``: they are written in bulk by
a run, audited once per run. A document is one row and its lines rows of their own,
with the line amounts and the document's totals computed when the file is read (by
the invoices' rules): *Recevoir* copies them into the order or delivery note in one
``INSERT … SELECT`` per batch, without a Python step per line. Reading a reference
again replaces its pending rows. SQLite does not enforce foreign keys here: whoever
deletes pending documents deletes their lines (``delete_documents``).
"""
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, DateTime, ForeignKey, Index, Integer, Numeric, String, UniqueConstraint, delete
from sqlalchemy.orm import Mapped, mapped_column, relationship

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
    total: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=0)  # excluding VAT
    total_vat: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=0)
    total_incl_vat: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=0)
    content_hash: Mapped[str] = mapped_column(String(64), default="")
    file_name: Mapped[str] = mapped_column(String(250), default="")
    read_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    lines: Mapped[list["PendingDocumentLine"]] = relationship(
        order_by="PendingDocumentLine.position", viewonly=True)


class PendingDocumentLine(db.Model):
    """A line of a pending document, in the order of its line numbers (``position`` 1…n).
    Keyed by its document and position, without a row id on SQLite: the lines of a
    document, and those of a batch of documents read in a row, are one range of the
    table's own b-tree, copied and deleted without a second index to keep."""
    __tablename__ = "pending_document_lines"
    __table_args__ = {"sqlite_with_rowid": False}

    pending_document_id: Mapped[int] = mapped_column(
        ForeignKey("pending_documents.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    line_number: Mapped[int] = mapped_column(Integer)  # NumLigne
    code: Mapped[str] = mapped_column(String(80))  # the partner's article code
    label: Mapped[str] = mapped_column(String(250), default="")
    quantity: Mapped[Decimal] = mapped_column(Numeric(14, 4))
    unit_price: Mapped[Decimal] = mapped_column(Numeric(14, 4))
    vat_rate: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))


def delete_documents(condition) -> int:
    """The pending documents matching ``condition`` (on ``pending_documents``) and their
    lines; how many documents there were."""
    documents, lines = PendingDocument.__table__, PendingDocumentLine.__table__
    db.session.execute(delete(lines).where(lines.c.pending_document_id.in_(
        documents.select().with_only_columns(documents.c.id).where(condition).scalar_subquery())))
    return db.session.execute(delete(documents).where(condition)).rowcount


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
