"""Master data of a tenant (``master-data.md``): parties, places, people, catalogue, contracts.

Codes are unique per tenant (``TenantCode`` and its ``CodeLabel`` / ``CodeName``
variants); every foreign key is indexed; amounts are ``Numeric`` (money with two
decimals, unit prices with four). Cross-row rules live in ``rules.master_data``.
"""
from datetime import date
from decimal import Decimal

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from core.extensions import db
from models.base import CodeLabel, CodeName, TenantCode, compact_number
from models.parameters import ArticleFamily, ClientFamily, ProductNature, Sector, SupplierFamily, Unit, VatRate

JOB_SITE_STATUSES = ("open", "closed")
EMPLOYEE_AMOUNTS = ("hourly_cost", "billable_hourly_rate")
ARTICLE_PRICES = ("net_purchase_price", "cost_price", "weighted_average_cost", "standard_cost", "sale_price")


def _text(length: int) -> Mapped[str]:
    return mapped_column(String(length), default="")


def _fk(table: str, nullable: bool = True):
    return mapped_column(ForeignKey(f"{table}.id"), nullable=nullable, index=True)


def _money() -> Mapped[Decimal | None]:
    return mapped_column(Numeric(12, 2))


def _unit_price() -> Mapped[Decimal | None]:
    return mapped_column(Numeric(12, 4))


def _not_negative(*columns: str) -> tuple[CheckConstraint, ...]:
    return tuple(CheckConstraint(f"{column} >= 0", name=f"{column}_not_negative") for column in columns)


class Employee(TenantCode, db.Model):
    """A salarié; technicians are sent to the field-service application."""

    __tablename__ = "employees"
    __table_args__ = (UniqueConstraint("tenant_id", "code"), *_not_negative(*EMPLOYEE_AMOUNTS))

    id: Mapped[int] = mapped_column(primary_key=True)
    first_name: Mapped[str] = _text(100)
    last_name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = _text(254)
    phone: Mapped[str] = _text(30)
    hire_date: Mapped[date | None] = mapped_column(Date)
    technician: Mapped[bool] = mapped_column(Boolean, default=False)
    hourly_cost: Mapped[Decimal | None] = _money()
    billable_hourly_rate: Mapped[Decimal | None] = _money()

    def __str__(self) -> str:
        return f"{self.code} — {self.first_name} {self.last_name}".rstrip()


class Client(CodeName, db.Model):
    __tablename__ = "clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    deactivated: Mapped[bool] = mapped_column(Boolean, default=False)
    address: Mapped[str] = _text(250)
    postcode: Mapped[str] = _text(10)
    city: Mapped[str] = _text(100)
    country: Mapped[str] = mapped_column(String(60), default="FR", server_default="FR")  # ISO 3166-1 alpha-2
    email: Mapped[str] = _text(254)
    phone: Mapped[str] = _text(30)
    vat_number: Mapped[str] = _text(20)
    siret: Mapped[str | None] = mapped_column(String(20), nullable=True)
    professional: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")  # else a private person
    siren: Mapped[str | None] = mapped_column(String(20), nullable=True)
    electronic_address: Mapped[str] = _text(100)  # BT-49, the SIREN when empty
    reverse_charge: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    client_family_id: Mapped[int | None] = _fk("client_families")
    salesperson_id: Mapped[int | None] = _fk("employees")

    client_family: Mapped[ClientFamily | None] = relationship()
    salesperson: Mapped[Employee | None] = relationship()

    @validates("country")
    def _country(self, _key, value):
        """Stored as its ISO code when recognised (« France » → FR); kept as typed otherwise
        (the format check then says so)."""
        from rules.formats import country_code
        return country_code(value) or (value or "").strip() if (value or "").strip() else "FR"

    @validates("siret", "siren", "vat_number")
    def _compact(self, key, value):
        value = compact_number(value)
        if key in ("siret", "siren"):
            return value or None  # an empty SIRET is no SIRET (the VAT number column keeps "")
        return value


class Supplier(CodeName, db.Model):
    __tablename__ = "suppliers"

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = _text(250)
    postcode: Mapped[str] = _text(10)
    city: Mapped[str] = _text(100)
    email: Mapped[str] = _text(254)
    phone: Mapped[str] = _text(30)
    supplier_family_id: Mapped[int | None] = _fk("supplier_families")

    supplier_family: Mapped[SupplierFamily | None] = relationship()


class Contact(CodeName, db.Model):
    """A person at a client or at a supplier (exactly one of the two)."""

    __tablename__ = "contacts"
    __table_args__ = (
        UniqueConstraint("tenant_id", "code"),
        CheckConstraint("(client_id IS NULL) <> (supplier_id IS NULL)", name="one_party"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int | None] = _fk("clients")
    supplier_id: Mapped[int | None] = _fk("suppliers")
    email: Mapped[str] = _text(254)
    phone: Mapped[str] = _text(30)
    role: Mapped[str] = _text(100)

    client: Mapped[Client | None] = relationship()
    supplier: Mapped[Supplier | None] = relationship()


class Site(CodeName, db.Model):
    """A place where interventions happen; it belongs to a client."""

    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = _fk("clients", nullable=False)
    address: Mapped[str] = _text(250)
    postcode: Mapped[str] = _text(10)
    city: Mapped[str] = _text(100)

    client: Mapped[Client] = relationship()


class JobSite(CodeName, db.Model):
    """A chantier / affaire: a project for one client, sent to the field-service app as a contract."""

    __tablename__ = "job_sites"
    __table_args__ = (
        UniqueConstraint("tenant_id", "code"),
        CheckConstraint("status IN ('open', 'closed')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = _fk("clients", nullable=False)
    site_id: Mapped[int | None] = _fk("sites")
    sector_id: Mapped[int | None] = _fk("sectors")
    status: Mapped[str] = mapped_column(String(10), default="open")
    start_date: Mapped[date | None] = mapped_column(Date)
    address: Mapped[str] = _text(250)  # the delivery address of its invoices
    postcode: Mapped[str] = _text(10)
    city: Mapped[str] = _text(100)

    client: Mapped[Client] = relationship()
    site: Mapped[Site | None] = relationship()
    sector: Mapped[Sector | None] = relationship()


class Article(CodeLabel, db.Model):
    """A catalogue item; labour when its nature's code starts with the dossier's labour prefix."""

    __tablename__ = "articles"
    __table_args__ = (UniqueConstraint("tenant_id", "code"), *_not_negative(*ARTICLE_PRICES))

    id: Mapped[int] = mapped_column(primary_key=True)
    family_id: Mapped[int | None] = _fk("article_families")
    subfamily_id: Mapped[int | None] = _fk("article_families")
    nature_id: Mapped[int | None] = _fk("product_natures")
    unit_id: Mapped[int | None] = _fk("units")
    net_purchase_price: Mapped[Decimal | None] = _unit_price()
    cost_price: Mapped[Decimal | None] = _unit_price()
    weighted_average_cost: Mapped[Decimal | None] = _unit_price()
    standard_cost: Mapped[Decimal | None] = _unit_price()
    sale_price: Mapped[Decimal | None] = _unit_price()
    vat_rate_id: Mapped[int | None] = _fk("vat_rates")
    available_for_export: Mapped[bool] = mapped_column(Boolean, default=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    family: Mapped[ArticleFamily | None] = relationship(foreign_keys=[family_id])
    subfamily: Mapped[ArticleFamily | None] = relationship(foreign_keys=[subfamily_id])
    nature: Mapped[ProductNature | None] = relationship()
    unit: Mapped[Unit | None] = relationship()
    vat_rate: Mapped[VatRate | None] = relationship()


class Contract(TenantCode, db.Model):
    """A maintenance contract of a client; its end date for the field-service app is
    computed by ``rules.master_data.contract_end_date``."""

    __tablename__ = "contracts"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = _fk("clients", nullable=False)
    site_id: Mapped[int | None] = _fk("sites")
    start_date: Mapped[date | None] = mapped_column(Date)
    term_date: Mapped[date | None] = mapped_column(Date)
    renewal_due_date: Mapped[date | None] = mapped_column(Date)
    open_ended: Mapped[bool] = mapped_column(Boolean, default=False)

    client: Mapped[Client] = relationship()
    site: Mapped[Site | None] = relationship()


class Equipment(CodeLabel, db.Model):
    __tablename__ = "equipment"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int | None] = _fk("sites")
    contract_id: Mapped[int | None] = _fk("contracts")

    site: Mapped[Site | None] = relationship()
    contract: Mapped[Contract | None] = relationship()
