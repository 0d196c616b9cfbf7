"""Dossier settings (paramètres dossier): one row per tenant. Defaults are those of
``parameters.md``; the cross-field rules live in ``rules.settings``."""
from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from core.extensions import db
from models.base import TenantScoped, compact_number

DEFAULT_DISCOUNT_TEXT = "Pas d'escompte pour paiement anticipé"


def _fk(table: str) -> Mapped[int | None]:
    return mapped_column(ForeignKey(f"{table}.id"), nullable=True)


def _flag(default: bool) -> Mapped[bool]:
    return mapped_column(Boolean, default=default, server_default="1" if default else "0")


def _choice(default: str) -> Mapped[str]:
    return mapped_column(String(40), default=default, server_default=default)


def _text(length: int = 100) -> Mapped[str]:
    return mapped_column(String(length), default="", server_default="")


def _coefficient() -> Mapped[Decimal]:
    return mapped_column(Numeric(12, 4), default=Decimal("1"), server_default="1")


class DossierSettings(TenantScoped, db.Model):
    __tablename__ = "dossier_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), unique=True, nullable=False)

    # Works quote tab
    works_quote_prefix: Mapped[str] = _text(20)
    dynamic_totals: Mapped[bool] = _flag(True)
    copy_work_texts: Mapped[bool] = _flag(True)
    operational_order_without_progress_billing: Mapped[bool] = _flag(False)
    quick_entry_prefix_works: Mapped[str] = _text(20)
    quick_entry_prefix_chapters: Mapped[str] = _text(20)
    price_method: Mapped[str] = _choice("purchase_x_coefficient")
    cost_valuation_method: Mapped[str] = _choice("purchase_price")
    labour_unit_id: Mapped[int | None] = _fk("units")
    labour_nature_prefix: Mapped[str] = mapped_column(String(20), default="4MO", server_default="4MO")
    quote_validity_days: Mapped[int] = mapped_column(Integer, default=30, server_default="30")
    additional_cost_table_id: Mapped[int | None] = _fk("additional_cost_tables")
    classic_order_operation_code_id: Mapped[int | None] = _fk("operation_codes")
    referencing_scope: Mapped[str] = _choice("quote_party")
    salesperson_init_mode: Mapped[str] = _choice("quote_party")

    # Coefficients tab
    labour_sales_coefficient: Mapped[Decimal] = _coefficient()
    supply_sales_coefficient: Mapped[Decimal] = _coefficient()
    difficulty_coefficient: Mapped[Decimal] = _coefficient()
    overhead_coefficient: Mapped[Decimal] = _coefficient()

    # Printing tab
    prospect_quote_title_id: Mapped[int | None] = _fk("document_titles")
    client_quote_title_id: Mapped[int | None] = _fk("document_titles")
    order_confirmation_title_id: Mapped[int | None] = _fk("document_titles")
    print_equipment_list: Mapped[bool] = _flag(False)
    terms_of_sale_text_code_id: Mapped[int | None] = _fk("text_codes")
    header_text: Mapped[str] = mapped_column(Text, default="")
    footer_text: Mapped[str] = mapped_column(Text, default="")

    # Intervention tab
    operational_order_operation_code_id: Mapped[int | None] = _fk("operation_codes")
    labour_grouping: Mapped[str] = _choice("none")
    quantity_price_mode: Mapped[str] = _choice("price_per")
    intervention_time_unit_id: Mapped[int | None] = _fk("units")
    contract_check_on_equipment: Mapped[bool] = _flag(False)
    crm_time_unit: Mapped[str] = _choice("minutes")
    default_work: Mapped[str] = _text()
    default_equipment_kind: Mapped[str] = _text()
    intervention_delivery_operation_code_id: Mapped[int | None] = _fk("operation_codes")
    propose_interventions_on_quote_validation: Mapped[bool] = _flag(False)
    mileage_article_reference: Mapped[str] = _text(40)
    default_document_category: Mapped[str] = _text()
    automatic_report_validation: Mapped[str] = _choice("none")
    select_equipment_from_crm: Mapped[bool] = _flag(False)
    intervention_numbering: Mapped[str] = _choice("erp")

    # Billing / progress tab
    grouped_billing_article_reference: Mapped[str] = _text(40)
    grouped_billing_line_label: Mapped[str] = _text(200)
    grouped_billing_operation_code_id: Mapped[int | None] = _fk("operation_codes")
    detailed_billing_operation_code_id: Mapped[int | None] = _fk("operation_codes")
    final_billing_operation_code_id: Mapped[int | None] = _fk("operation_codes")
    default_billing_method: Mapped[str] = _choice("grouped")
    progress_input: Mapped[str] = _choice("cumulative_percent")
    down_payment_article_reference: Mapped[str] = _text(40)
    down_payment_label: Mapped[str] = _text(200)
    down_payment_operation_code_id: Mapped[int | None] = _fk("operation_codes")
    down_payment_split: Mapped[str] = _choice("vat_depot_job_amendment_axes")
    down_payment_deduction_message: Mapped[str] = _choice("off")
    down_payment_deduction_alert_percent: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    price_revision_nature_id: Mapped[int | None] = _fk("product_natures")
    contractual_holdback_nature_id: Mapped[int | None] = _fk("product_natures")
    print_progress_recap: Mapped[bool] = _flag(False)
    recap_rank_computed: Mapped[bool] = _flag(False)
    recap_skip_cancelled: Mapped[bool] = _flag(False)
    recap_current_progress_invoice: Mapped[str] = _choice("excluded")

    # Company tab: the seller's identity printed on the legal invoices (``invoicing.md``),
    # checked by ``rules.formats`` next to each field
    legal_name: Mapped[str] = _text(200)
    legal_form: Mapped[str] = _text(20)
    share_capital: Mapped[Decimal | None] = mapped_column(Numeric(14, 2), nullable=True)
    siren: Mapped[str | None] = mapped_column(String(20), nullable=True)
    siret: Mapped[str | None] = mapped_column(String(20), nullable=True)
    vat_number: Mapped[str | None] = mapped_column(String(20), nullable=True)
    registration: Mapped[str] = _text(100)
    address: Mapped[str] = _text(250)
    postcode: Mapped[str] = _text(10)
    city: Mapped[str] = _text(100)
    country: Mapped[str] = mapped_column(String(2), default="FR", server_default="FR")
    email: Mapped[str] = _text(254)
    phone: Mapped[str] = _text(30)
    iban: Mapped[str | None] = mapped_column(String(42), nullable=True)
    bic: Mapped[str] = _text(11)
    payment_terms_days: Mapped[int] = mapped_column(Integer, default=30, server_default="30")
    payment_terms_end_of_month: Mapped[bool] = _flag(False)
    late_penalty_rate: Mapped[Decimal | None] = mapped_column(Numeric(6, 2), nullable=True)
    early_payment_discount: Mapped[str] = mapped_column(
        String(250), default=DEFAULT_DISCOUNT_TEXT, server_default=DEFAULT_DISCOUNT_TEXT)
    vat_on_debits: Mapped[bool] = _flag(False)
    insurer_name: Mapped[str] = _text(200)
    insurer_address: Mapped[str] = _text(250)
    insurance_policy: Mapped[str] = _text(100)
    insurance_coverage: Mapped[str] = _text(200)
    electronic_address: Mapped[str] = _text(100)

    @validates("siren", "siret", "vat_number", "iban")
    def _compact(self, _key, value):
        return compact_number(value) or None

    @validates("bic")
    def _upper(self, _key, value):
        return (value or "").replace(" ", "").upper()

    @validates("country")
    def _country(self, _key, value):
        from rules.formats import country_code
        return country_code(value) or (value or "FR").strip().upper()[:2]

    # Contracts tab
    fixed_term_end_date_basis: Mapped[str] = _choice("due_date")

    # Equipment tab
    select_equipment_by_contract_site: Mapped[bool] = _flag(False)

    labour_unit = relationship("Unit", foreign_keys=[labour_unit_id])
    additional_cost_table = relationship("AdditionalCostTable")
    classic_order_operation_code = relationship("OperationCode", foreign_keys=[classic_order_operation_code_id])
    prospect_quote_title = relationship("DocumentTitle", foreign_keys=[prospect_quote_title_id])
    client_quote_title = relationship("DocumentTitle", foreign_keys=[client_quote_title_id])
    order_confirmation_title = relationship("DocumentTitle", foreign_keys=[order_confirmation_title_id])
    terms_of_sale_text_code = relationship("TextCode")
    operational_order_operation_code = relationship(
        "OperationCode", foreign_keys=[operational_order_operation_code_id])
    intervention_time_unit = relationship("Unit", foreign_keys=[intervention_time_unit_id])
    intervention_delivery_operation_code = relationship(
        "OperationCode", foreign_keys=[intervention_delivery_operation_code_id])
    grouped_billing_operation_code = relationship("OperationCode", foreign_keys=[grouped_billing_operation_code_id])
    detailed_billing_operation_code = relationship(
        "OperationCode", foreign_keys=[detailed_billing_operation_code_id])
    final_billing_operation_code = relationship("OperationCode", foreign_keys=[final_billing_operation_code_id])
    down_payment_operation_code = relationship("OperationCode", foreign_keys=[down_payment_operation_code_id])
    price_revision_nature = relationship("ProductNature", foreign_keys=[price_revision_nature_id])
    contractual_holdback_nature = relationship("ProductNature", foreign_keys=[contractual_holdback_nature_id])
