from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db
from models.base import utcnow


class AuditLogEntry(db.Model):
    """One changed field of one row: who, when, which table and row, old → new."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_tenant_at", "tenant_id", "changed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id"), nullable=True)
    user_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    user_email: Mapped[str] = mapped_column(String(254), default="")
    changed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    table_name: Mapped[str] = mapped_column(String(80))
    row_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    row_code: Mapped[str] = mapped_column(String(80), default="")
    action: Mapped[str] = mapped_column(String(10))
    field: Mapped[str] = mapped_column(String(80), default="")
    old_value: Mapped[str | None] = mapped_column(Text, nullable=True)
    new_value: Mapped[str | None] = mapped_column(Text, nullable=True)
