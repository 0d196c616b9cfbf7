"""Mixins shared by tenant-owned tables."""
from datetime import datetime, timezone

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship


def compact_number(value):
    """An identification number as stored: spaces, dots and dashes removed, upper case
    (SIREN, SIRET, VAT number, IBAN are typed grouped; the checks and prints want them whole)."""
    if value is None:
        return None
    return "".join(character for character in str(value) if character not in " .-\t").upper()


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class TenantScoped:
    """A row owned by one tenant. Views, exports and imports filter on ``tenant_id``;
    every change to such a row is written to the audit log."""

    @declared_attr
    def tenant_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("tenants.id"), nullable=False, index=True)

    @declared_attr
    def tenant(cls):
        return relationship("Tenant")


class TenantCode(TenantScoped):
    """A tenant-owned row identified by a code unique in its tenant."""

    code: Mapped[str] = mapped_column(String(40))

    @declared_attr.directive
    def __table_args__(cls):
        return (UniqueConstraint("tenant_id", "code"),)

    def __str__(self) -> str:
        return self.code


class CodeLabel(TenantCode):
    """A tenant-owned row identified by a code unique in its tenant, with a label."""

    label: Mapped[str] = mapped_column(String(200))

    def __str__(self) -> str:
        return f"{self.code} — {self.label}"


class CodeName(TenantCode):
    """A tenant-owned party or place (client, supplier, site…): a unique code and a name."""

    name: Mapped[str] = mapped_column(String(200))

    def __str__(self) -> str:
        return f"{self.code} — {self.name}"
