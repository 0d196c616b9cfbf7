"""Dossier settings: one tabbed form per tenant at ``/admin/dossier-settings/``."""
from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from core import transaction
from core.glossary import choices
from core.tenancy import current_tenant_id
from models import enums
from rules.settings import BILLING_CODES_NEEDING_CREDIT_NOTE, dossier_settings_errors, settings_for  # noqa: F401
from views.base import SecuredModelView

# invoicing.md: the seller's identity printed on the legal invoices
COMPANY_FIELDS = (
    "legal_name", "legal_form", "share_capital", "siren", "siret", "vat_number", "registration", "address",
    "postcode", "city", "country", "email", "phone", "iban", "bic", "payment_terms_days",
    "payment_terms_end_of_month", "late_penalty_rate", "early_payment_discount", "vat_on_debits",
    "insurer_name", "insurer_address", "insurance_policy", "insurance_coverage", "electronic_address")
SETTINGS_TABS = (
    ("works-quote", _l("Works quote"), (
        "works_quote_prefix", "dynamic_totals", "copy_work_texts", "operational_order_without_progress_billing",
        "quick_entry_prefix_works", "quick_entry_prefix_chapters", "price_method", "cost_valuation_method",
        "labour_unit", "labour_nature_prefix", "quote_validity_days", "additional_cost_table",
        "classic_order_operation_code", "referencing_scope", "salesperson_init_mode")),
    ("coefficients", _l("Coefficients"), (
        "labour_sales_coefficient", "supply_sales_coefficient", "difficulty_coefficient",
        "overhead_coefficient")),
    ("printing", _l("Printing"), (
        "prospect_quote_title", "client_quote_title", "order_confirmation_title", "print_equipment_list",
        "terms_of_sale_text_code", "header_text", "footer_text")),
    ("intervention", _l("Intervention"), (
        "operational_order_operation_code", "labour_grouping", "quantity_price_mode",
        "intervention_time_unit", "contract_check_on_equipment", "crm_time_unit", "default_work",
        "default_equipment_kind", "intervention_delivery_operation_code",
        "propose_interventions_on_quote_validation", "mileage_article_reference",
        "default_document_category", "automatic_report_validation", "select_equipment_from_crm",
        "intervention_numbering")),
    ("billing", _l("Billing / progress"), (
        "grouped_billing_article_reference", "grouped_billing_line_label", "grouped_billing_operation_code",
        "detailed_billing_operation_code", "final_billing_operation_code", "default_billing_method",
        "progress_input", "down_payment_article_reference", "down_payment_label",
        "down_payment_operation_code", "down_payment_split", "down_payment_deduction_message",
        "down_payment_deduction_alert_percent", "price_revision_nature", "contractual_holdback_nature",
        "print_progress_recap", "recap_rank_computed", "recap_skip_cancelled",
        "recap_current_progress_invoice")),
    ("contracts", _l("Contracts"), ("fixed_term_end_date_basis",)),
    ("equipment", _l("Equipment"), ("select_equipment_by_contract_site",)),
    ("company", _l("Company"), COMPANY_FIELDS),
)
SETTINGS_FIELDS = tuple(name for _slug, _label, names in SETTINGS_TABS for name in names)


class DossierSettingsView(SecuredModelView):
    allow_create = allow_delete = False
    can_view_details = False
    column_default_sort = None
    column_searchable_list = ()
    form_columns = column_export_list = SETTINGS_FIELDS
    form_choices = {
        "price_method": choices(enums.PRICE_METHODS),
        "cost_valuation_method": choices(enums.COST_VALUATION_METHODS),
        "referencing_scope": choices(enums.REFERENCING_SCOPES),
        "salesperson_init_mode": choices(enums.SALESPERSON_INIT_MODES),
        "labour_grouping": choices(enums.LABOUR_GROUPINGS),
        "quantity_price_mode": choices(enums.QUANTITY_PRICE_MODES),
        "crm_time_unit": choices(enums.TIME_UNITS),
        "automatic_report_validation": choices(enums.AUTOMATIC_REPORT_VALIDATIONS),
        "intervention_numbering": choices(enums.INTERVENTION_NUMBERINGS),
        "default_billing_method": choices(enums.BILLING_METHODS),
        "progress_input": choices(enums.PROGRESS_INPUTS),
        "down_payment_split": choices(enums.DOWN_PAYMENT_SPLITS),
        "down_payment_deduction_message": choices(enums.DEDUCTION_MESSAGES),
        "recap_current_progress_invoice": choices(enums.RECAP_CURRENT_PROGRESS),
        "fixed_term_end_date_basis": choices(enums.END_DATE_BASES),
    }
    column_descriptions = {
        "labour_nature_prefix": _l("Product natures whose code starts with this prefix are labour."),
        "quote_validity_days": _l("The validity date of a quote is its date plus this number of days."),
        "grouped_billing_line_label": _l("#TVA# is replaced by the VAT rate and #FACTURE# by the invoice number."),
        "down_payment_label": _l("#TVA# is replaced by the VAT rate."),
        "operational_order_operation_code": _l("Must not be billable."),
        "electronic_address": _l("The address through which the company receives e-invoices; its SIREN when empty."),
        "siret": _l("14 digits: the SIREN then the establishment."),
        "late_penalty_rate": _l("Printed on the invoices; at least three times the legal interest rate."),
    }

    # Settings that need a billable code offer billable codes only; the operational order
    # code, which must not be billable, offers the others.
    form_relation_filters = {
        **{name: (lambda code: code.billable) for name in BILLING_CODES_NEEDING_CREDIT_NOTE},
        "operational_order_operation_code": lambda code: not code.billable,
    }

    @expose("/", methods=("GET", "POST"))
    def index_view(self):
        settings = settings_for(current_tenant_id())
        transaction.commit()
        form = self.edit_form(obj=settings)
        if request.method == "POST":  # writers only (RoleGate: 403 for the others)
            if self.validate_form(form) and self.update_model(form, settings):
                flash(_("Dossier settings saved."), "success")
                return redirect(url_for(".index_view", tab=request.form.get("active_tab") or None))
            else:
                flash(_("Nothing was saved: correct the fields marked in red."), "error")
        return self.render("settings/dossier.html", form=form, tabs=SETTINGS_TABS,
                           active_tab=request.args.get("tab") or request.form.get("active_tab"),
                           read_only=not self.can_write)

    @expose("/edit/", methods=("GET", "POST"))
    def edit_view(self):
        return redirect(url_for(".index_view"))

    def row_errors(self, form) -> dict[str, str]:
        values = {name: field.data for name, field in form._fields.items()}
        return dossier_settings_errors(values, current_tenant_id())
