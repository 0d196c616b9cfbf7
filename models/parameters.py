"""Parameter tables of a tenant (``parameters.md``): each row has a tenant-unique code."""
from datetime import date
from decimal import Decimal

from sqlalchemy import (
    Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint, func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.extensions import db
from models.base import CodeLabel


class DocumentTitle(CodeLabel, db.Model):
    __tablename__ = "document_titles"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_type: Mapped[str] = mapped_column(String(30))
    print_mask: Mapped[str] = mapped_column(Text, default="")


class OperationCode(CodeLabel, db.Model):
    __tablename__ = "operation_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_type: Mapped[str] = mapped_column(String(30))
    billable: Mapped[bool] = mapped_column(Boolean, default=False)
    document_title_id: Mapped[int | None] = mapped_column(ForeignKey("document_titles.id"))
    credit_note_operation_code_id: Mapped[int | None] = mapped_column(ForeignKey("operation_codes.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    document_title: Mapped[DocumentTitle | None] = relationship()
    credit_note_operation_code: Mapped["OperationCode | None"] = relationship(remote_side=[id])


class Establishment(CodeLabel, db.Model):
    __tablename__ = "establishments"

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(250), default="")
    postcode: Mapped[str] = mapped_column(String(10), default="")
    city: Mapped[str] = mapped_column(String(100), default="")


class NumberingSequence(CodeLabel, db.Model):
    """Prefix + counter of a document type. ``highest_number_used`` is kept by the
    numbering rule so that ``next_number`` is never lowered onto a used number."""

    __tablename__ = "numbering_sequences"
    __table_args__ = (
        UniqueConstraint("tenant_id", "code"),
        # NULL establishments are distinct in a plain unique constraint: coalesce them.
        Index(
            "uq_numbering_sequences_scope", "tenant_id", "document_type",
            func.coalesce(db.literal_column("establishment_id"), 0), unique=True,
        ),
        CheckConstraint("next_number >= 1", name="next_number_positive"),
        CheckConstraint("padding >= 0 AND padding <= 20", name="padding_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    document_type: Mapped[str] = mapped_column(String(30))
    establishment_id: Mapped[int | None] = mapped_column(ForeignKey("establishments.id"))
    prefix: Mapped[str] = mapped_column(String(20), default="")
    padding: Mapped[int] = mapped_column(Integer, default=6)
    next_number: Mapped[int] = mapped_column(Integer, default=1)
    gapless: Mapped[bool] = mapped_column(Boolean, default=False)
    highest_number_used: Mapped[int] = mapped_column(Integer, default=0)
    last_document_date: Mapped[date | None] = mapped_column(Date)

    establishment: Mapped[Establishment | None] = relationship()


class ProductNature(CodeLabel, db.Model):
    __tablename__ = "product_natures"

    id: Mapped[int] = mapped_column(primary_key=True)
    overhead_coefficient: Mapped[Decimal | None] = mapped_column(Numeric(12, 4))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class ArticleFamily(CodeLabel, db.Model):
    """An article family, or a subfamily when it has a parent."""

    __tablename__ = "article_families"

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("article_families.id"))

    parent: Mapped["ArticleFamily | None"] = relationship(remote_side=[id])


class Unit(CodeLabel, db.Model):
    __tablename__ = "units"
    id: Mapped[int] = mapped_column(primary_key=True)
    un_ece_code: Mapped[str] = mapped_column(String(3), default="", server_default="")  # UN/ECE Rec. 20


class PriceCategory(CodeLabel, db.Model):
    __tablename__ = "price_categories"
    id: Mapped[int] = mapped_column(primary_key=True)


class Depot(CodeLabel, db.Model):
    __tablename__ = "depots"
    id: Mapped[int] = mapped_column(primary_key=True)


class Sector(CodeLabel, db.Model):
    __tablename__ = "sectors"
    id: Mapped[int] = mapped_column(primary_key=True)


class ClientFamily(CodeLabel, db.Model):
    __tablename__ = "client_families"
    id: Mapped[int] = mapped_column(primary_key=True)


class SupplierFamily(CodeLabel, db.Model):
    __tablename__ = "supplier_families"
    id: Mapped[int] = mapped_column(primary_key=True)


class VatRate(CodeLabel, db.Model):
    __tablename__ = "vat_rates"
    __table_args__ = (
        UniqueConstraint("tenant_id", "code"),
        CheckConstraint("rate >= 0 AND rate <= 100", name="rate_percent"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rate: Mapped[Decimal] = mapped_column(Numeric(5, 2))


class TextCode(CodeLabel, db.Model):
    __tablename__ = "text_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    body: Mapped[str] = mapped_column(Text, default="")


class AdditionalCostTable(CodeLabel, db.Model):
    """Postes complémentaires: ``lines`` holds one cost item per line of text."""

    __tablename__ = "additional_cost_tables"

    id: Mapped[int] = mapped_column(primary_key=True)
    lines: Mapped[str] = mapped_column(Text, default="")
