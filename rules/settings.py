"""Cross-field rules of the dossier settings (``parameters.md``)."""
from decimal import Decimal

from flask_babel import gettext as _

from core.extensions import db
from models import DossierSettings
from rules.formats import format_errors

Errors = dict[str, str]

COEFFICIENTS = (
    "labour_sales_coefficient", "supply_sales_coefficient", "difficulty_coefficient", "overhead_coefficient",
)
BILLING_CODES_NEEDING_CREDIT_NOTE = (
    "grouped_billing_operation_code", "detailed_billing_operation_code",
    "final_billing_operation_code", "down_payment_operation_code",
)
RELATIONS = (
    "labour_unit", "additional_cost_table", "classic_order_operation_code", "prospect_quote_title",
    "client_quote_title", "order_confirmation_title", "terms_of_sale_text_code",
    "operational_order_operation_code", "intervention_time_unit", "intervention_delivery_operation_code",
    "price_revision_nature", "contractual_holdback_nature",
) + BILLING_CODES_NEEDING_CREDIT_NOTE


def dossier_settings_errors(values: dict, tenant_id: int) -> Errors:
    """Every broken rule of a settings submission, by field; empty when it can be saved."""
    errors: Errors = dict(format_errors(values))
    siren, siret = (values.get("siren") or "").replace(" ", ""), (values.get("siret") or "").replace(" ", "")
    if siren and siret and "siret" not in errors and siret[:9] != siren:
        errors["siret"] = _("The first nine digits of the SIRET must be the SIREN (%(siren)s).", siren=siren)
    days = values.get("payment_terms_days")
    if "payment_terms_days" in values and (days is None or days < 0):
        errors["payment_terms_days"] = _("The payment terms must be a number of days, 0 or more.")
    if not (values.get("labour_nature_prefix") or "").strip():
        errors["labour_nature_prefix"] = _("The labour nature prefix is mandatory.")
    for name in COEFFICIENTS:
        value = values.get(name)
        if value is None or Decimal(value) <= 0:
            errors[name] = _("The coefficient must be greater than 0.")
    days = values.get("quote_validity_days")
    if days is None or days < 0:
        errors["quote_validity_days"] = _("The validity must be a number of days, 0 or more.")
    for name in RELATIONS:
        row = values.get(name)
        if row is not None and row.tenant_id != tenant_id:
            errors[name] = _("This row belongs to another dossier.")
    operational = values.get("operational_order_operation_code")
    if operational is not None and operational.billable:
        errors.setdefault("operational_order_operation_code", _(
            "The operational order operation code %(code)s must not be billable.", code=operational.code))
    for name in BILLING_CODES_NEEDING_CREDIT_NOTE:
        code = values.get(name)
        if code is not None and code.credit_note_operation_code_id is None:
            errors.setdefault(name, _(
                "The operation code %(code)s has no credit-note operation code.", code=code.code))
    if values.get("down_payment_deduction_message") == "alert":
        percent = values.get("down_payment_deduction_alert_percent")
        if percent is None or not Decimal(0) <= Decimal(percent) <= Decimal(100):
            errors["down_payment_deduction_alert_percent"] = _(
                "Give the progress percentage (0 to 100) above which the alert is shown.")
    return errors


def fill_label_wildcards(template: str, vat_rate: Decimal | None = None, invoice_number: str = "") -> str:
    """Replace ``#TVA#`` and ``#FACTURE#`` in a generated line label."""
    rate = "" if vat_rate is None else f"{Decimal(vat_rate).normalize():f}".replace(".", ",") + " %"
    return template.replace("#TVA#", rate).replace("#FACTURE#", invoice_number)


def settings_for(tenant_id: int) -> DossierSettings:
    """The tenant's settings row, created with the defaults when missing."""
    settings = db.session.query(DossierSettings).filter_by(tenant_id=tenant_id).one_or_none()
    if settings is None:
        settings = DossierSettings(tenant_id=tenant_id)
        db.session.add(settings)
        db.session.flush()
    return settings
