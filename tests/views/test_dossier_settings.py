"""The dossier settings screen (parameters.md): one tabbed form per tenant with every
field of the spec, its defaults and closed lists; a save breaking several rules shows
them all next to their fields and saves nothing; a valid save persists and is audited."""
from decimal import Decimal
from pathlib import Path

import pytest
from flask_babel import force_locale

from core.extensions import db
from models import AuditLogEntry, DossierSettings, OperationCode, Unit
from rules.settings import dossier_settings_errors
from html_page import field_errors, field_value, fields_with_errors, form_values, options, parse
from param_rows import add_row

URL = "/admin/dossier-settings/"
FORM = "dossier-settings-form"

# parameters.md, tab by tab, with the field names of the code (snake_case of the spec's English names).
TABS = {
    "works-quote": (
        "works_quote_prefix", "dynamic_totals", "copy_work_texts", "operational_order_without_progress_billing",
        "quick_entry_prefix_works", "quick_entry_prefix_chapters", "price_method", "cost_valuation_method",
        "labour_unit", "labour_nature_prefix", "quote_validity_days", "additional_cost_table",
        "classic_order_operation_code", "referencing_scope", "salesperson_init_mode"),
    "coefficients": (
        "labour_sales_coefficient", "supply_sales_coefficient", "difficulty_coefficient", "overhead_coefficient"),
    "printing": (
        "prospect_quote_title", "client_quote_title", "order_confirmation_title", "print_equipment_list",
        "terms_of_sale_text_code", "header_text", "footer_text"),
    "intervention": (
        "operational_order_operation_code", "labour_grouping", "quantity_price_mode", "intervention_time_unit",
        "contract_check_on_equipment", "crm_time_unit", "default_work", "default_equipment_kind",
        "intervention_delivery_operation_code", "propose_interventions_on_quote_validation",
        "mileage_article_reference", "default_document_category", "automatic_report_validation",
        "select_equipment_from_crm", "intervention_numbering"),
    "billing": (
        "grouped_billing_article_reference", "grouped_billing_line_label", "grouped_billing_operation_code",
        "detailed_billing_operation_code", "final_billing_operation_code", "default_billing_method",
        "progress_input", "down_payment_article_reference", "down_payment_label", "down_payment_operation_code",
        "down_payment_split", "down_payment_deduction_message", "down_payment_deduction_alert_percent",
        "price_revision_nature", "contractual_holdback_nature", "print_progress_recap", "recap_rank_computed",
        "recap_skip_cancelled", "recap_current_progress_invoice"),
    "contracts": ("fixed_term_end_date_basis",),
    "equipment": ("select_equipment_by_contract_site",),
    # invoicing.md: the company identity of the legal invoices
    "company": (
        "legal_name", "legal_form", "share_capital", "siren", "siret", "vat_number", "registration", "address",
        "postcode", "city", "country", "email", "phone", "iban", "bic", "payment_terms_days",
        "payment_terms_end_of_month", "late_penalty_rate", "early_payment_discount", "vat_on_debits",
        "insurer_name", "insurer_address", "insurance_policy", "insurance_coverage", "electronic_address"),
}
# Closed lists of the spec: values, and the default when the spec gives one.
CLOSED_LISTS = {
    "price_method": (["purchase_x_coefficient", "sales_tariff"], "purchase_x_coefficient"),
    "cost_valuation_method": (["purchase_price", "cost_price", "weighted_average_cost", "standard_cost", "none"],
                              "purchase_price"),
    "referencing_scope": (["quote_party", "site_party", "both"], "quote_party"),
    "salesperson_init_mode": (["quote_party", "site_then_site_party", "site_then_quote_party",
                               "job_then_site_then_site_party", "job_then_quote_party"], "quote_party"),
    "labour_grouping": (["none", "by_chapter", "by_document"], None),
    "quantity_price_mode": (["price_per", "quantity_and_unit_price", "by_line_type"], None),
    "automatic_report_validation": (["none", "identical", "identical_or_more", "without_order", "all"], "none"),
    "intervention_numbering": (["erp", "crm"], "erp"),
    "default_billing_method": (["grouped", "detailed"], None),
    "progress_input": (["cumulative_percent", "relative_percent", "cumulative_quantity", "relative_quantity"], None),
    "down_payment_split": (["vat_depot_job_amendment_axes", "vat_depot"], None),
    "down_payment_deduction_message": (["off", "information", "alert"], "off"),
    "recap_current_progress_invoice": (["excluded", "included"], None),
    "fixed_term_end_date_basis": (["due_date", "term_date"], None),
}
FLAGS_ON = ("dynamic_totals", "copy_work_texts")
FLAGS_OFF = (
    "operational_order_without_progress_billing", "print_equipment_list", "contract_check_on_equipment",
    "propose_interventions_on_quote_validation", "select_equipment_from_crm", "select_equipment_by_contract_site",
)


def _settings(app, tenant_id):
    with app.app_context():
        row = db.session.query(DossierSettings).filter_by(tenant_id=tenant_id).one()
        db.session.expunge(row)
        return row


def test_the_form_shows_every_field_of_the_spec_in_its_tab(browser, tenants):
    page = parse(browser("consultant@acme.test").get(URL))
    form = page.find("form", id=FORM)
    assert [link.attrs["data-slug"] for link in form.find_all("a", "nav-link")] == list(TABS)
    for slug, names in TABS.items():
        pane = form.find("div", id=f"pane-{slug}")
        assert pane is not None, slug
        ids = {node.attrs.get("id") for node in pane.iter() if node.tag in ("input", "select", "textarea")}
        assert set(names) <= ids, (slug, set(names) - ids)
        for name in names:  # each field has its label
            assert pane.find("label", **{"for": name}) is not None, name


def test_a_new_tenant_has_the_defaults_of_the_spec(browser, tenants):
    page = browser("consultant@acme.test").get(URL)
    assert field_value(page, "labour_nature_prefix") == "4MO"
    assert int(field_value(page, "quote_validity_days")) == 30
    for name in TABS["coefficients"]:
        assert field_value(page, name) == "1,00", name  # French decimal sign, no trailing noise
    for name in FLAGS_ON:
        assert field_value(page, name) is not None, name
    for name in FLAGS_OFF:
        assert field_value(page, name) is None, name
    assert field_value(page, "crm_time_unit") == "minutes"
    for name, (values, default) in CLOSED_LISTS.items():
        assert [value for value, _text in options(page, name)] == values, name
        if default:
            assert field_value(page, name) == default, name
    for name in ("works_quote_prefix", "header_text", "footer_text", "mileage_article_reference"):
        assert field_value(page, name) == "", name
    for name in ("labour_unit", "classic_order_operation_code", "grouped_billing_operation_code"):
        assert field_value(page, name) == "__None", name


def test_the_defaults_are_stored_for_a_tenant_created_by_the_rules(app, tenants):
    settings = _settings(app, tenants["BETA"])
    assert (settings.labour_nature_prefix, settings.quote_validity_days) == ("4MO", 30)
    assert (settings.labour_sales_coefficient, settings.supply_sales_coefficient, settings.difficulty_coefficient,
            settings.overhead_coefficient) == (1, 1, 1, 1)
    assert (settings.price_method, settings.cost_valuation_method, settings.intervention_numbering,
            settings.automatic_report_validation) == ("purchase_x_coefficient", "purchase_price", "erp", "none")


@pytest.fixture
def codes(app, tenants):
    """ACME: AV (credit note), FA (invoice with AV), OO (billable order), FS (invoice without
    credit-note code, as an older import could have left it) and the unit H."""
    acme = tenants["ACME"]
    with app.app_context():
        credit_note = add_row(OperationCode, acme, "AV", document_type="credit_note")
        invoice = add_row(OperationCode, acme, "FA", document_type="invoice", billable=True,
                          credit_note_operation_code_id=credit_note.id)
        billable = add_row(OperationCode, acme, "OO", document_type="order", billable=True)
        no_credit_note = add_row(OperationCode, acme, "FS", document_type="invoice", billable=True)
        unit = add_row(Unit, acme, "H", "Heure")
        return {"AV": credit_note.id, "FA": invoice.id, "OO": billable.id, "FS": no_credit_note.id, "H": unit.id}


def test_a_save_breaking_several_rules_reports_them_all_and_saves_nothing(app, browser, tenants, codes):
    b = browser("consultant@acme.test")
    before = _settings(app, tenants["ACME"])
    data = {**form_values(b.get(URL), FORM),
            "labour_nature_prefix": "", "operational_order_operation_code": str(codes["OO"]),
            "grouped_billing_operation_code": str(codes["FS"]), "labour_sales_coefficient": "0",
            "down_payment_deduction_message": "alert", "down_payment_deduction_alert_percent": "",
            # and valid changes, which must not be saved either
            "header_text": "Nouvel en-tête", "quote_validity_days": "45", "labour_unit": str(codes["H"])}
    response = b.post(URL, data)
    assert response.status_code == 200
    broken = {"labour_nature_prefix", "operational_order_operation_code", "grouped_billing_operation_code",
              "labour_sales_coefficient", "down_payment_deduction_alert_percent"}
    assert fields_with_errors(response) == broken

    with app.app_context():
        rows = {code: db.session.get(OperationCode, row_id) for code, row_id in codes.items() if code != "H"}
        with app.test_request_context(), force_locale("fr"):
            expected = dossier_settings_errors({
                "labour_nature_prefix": "", "operational_order_operation_code": rows["OO"],
                "grouped_billing_operation_code": rows["FS"], "labour_sales_coefficient": Decimal(0),
                "supply_sales_coefficient": Decimal(1), "difficulty_coefficient": Decimal(1),
                "overhead_coefficient": Decimal(1), "quote_validity_days": 45,
                "down_payment_deduction_message": "alert", "down_payment_deduction_alert_percent": None,
            }, tenants["ACME"])
    assert set(expected) == broken
    for name in broken:
        assert field_errors(response, name) == [expected[name]], name
    assert "OO" in expected["operational_order_operation_code"] and "FS" in expected["grouped_billing_operation_code"]

    # the tabs holding errors are marked, with their count
    tabs = {link.attrs["data-slug"]: link for link in parse(response).find("form", id=FORM).find_all("a", "nav-link")}
    for slug, count in (("works-quote", 1), ("coefficients", 1), ("intervention", 1), ("billing", 2)):
        assert "has-error" in tabs[slug].classes and f"({count})" in tabs[slug].text, slug
    assert "has-error" not in tabs["printing"].classes
    # what was typed is kept in the form
    assert field_value(response, "header_text") == "Nouvel en-tête"

    after = _settings(app, tenants["ACME"])
    for name in ("labour_nature_prefix", "header_text", "quote_validity_days", "labour_unit_id",
                 "labour_sales_coefficient", "operational_order_operation_code_id",
                 "grouped_billing_operation_code_id", "down_payment_deduction_message"):
        assert getattr(after, name) == getattr(before, name), name
    with app.app_context():
        assert db.session.query(AuditLogEntry).filter_by(table_name="dossier_settings", action="update").count() == 0


@pytest.mark.parametrize("field, value", [
    ("quote_validity_days", "-1"), ("supply_sales_coefficient", "-2"), ("difficulty_coefficient", "0"),
    ("overhead_coefficient", ""), ("labour_nature_prefix", "   "), ("down_payment_deduction_alert_percent", "120"),
])
def test_each_rule_alone(app, browser, tenants, field, value):
    b = browser("consultant@acme.test")
    data = {**form_values(b.get(URL), FORM), "down_payment_deduction_message": "alert",
            "down_payment_deduction_alert_percent": "50", field: value}
    response = b.post(URL, data)
    assert response.status_code == 200
    assert fields_with_errors(response) == {field}
    assert _settings(app, tenants["ACME"]).down_payment_deduction_message == "off"


def test_a_valid_save_persists_and_is_audited(app, browser, tenants, codes):
    b = browser("consultant@acme.test")
    data = form_values(b.get(URL), FORM)
    data.pop("dynamic_totals")  # unticked
    data.update({"labour_nature_prefix": "5MO", "quote_validity_days": "45", "price_method": "sales_tariff",
                 "labour_unit": str(codes["H"]), "grouped_billing_operation_code": str(codes["FA"]),
                 "operational_order_operation_code": "__None",
                 "labour_sales_coefficient": "1.35", "down_payment_deduction_message": "alert",
                 "down_payment_deduction_alert_percent": "80", "print_equipment_list": "y",
                 "active_tab": "coefficients"})
    response = b.post(URL, data)
    assert response.status_code == 302
    assert "tab=coefficients" in response.headers["Location"]

    settings = _settings(app, tenants["ACME"])
    assert (settings.labour_nature_prefix, settings.quote_validity_days, settings.price_method) == (
        "5MO", 45, "sales_tariff")
    assert (settings.labour_unit_id, settings.grouped_billing_operation_code_id) == (codes["H"], codes["FA"])
    assert settings.labour_sales_coefficient == Decimal("1.35")
    assert (settings.dynamic_totals, settings.print_equipment_list) == (False, True)
    assert (settings.down_payment_deduction_message, settings.down_payment_deduction_alert_percent) == (
        "alert", Decimal("80"))

    with app.app_context():
        entries = {entry.field: entry for entry in db.session.query(AuditLogEntry).filter_by(
            table_name="dossier_settings", action="update")}
    assert {(f, entries[f].old_value, entries[f].new_value) for f in (
        "labour_nature_prefix", "quote_validity_days", "price_method", "dynamic_totals", "print_equipment_list",
        "labour_sales_coefficient", "labour_unit", "grouped_billing_operation_code")} == {
        ("labour_nature_prefix", "4MO", "5MO"), ("quote_validity_days", "30", "45"),
        ("price_method", "purchase_x_coefficient", "sales_tariff"), ("dynamic_totals", "1", "0"),
        ("print_equipment_list", "0", "1"), ("labour_sales_coefficient", "1", "1.35"),
        ("labour_unit", None, "H"), ("grouped_billing_operation_code", None, "FA")}
    for entry in entries.values():
        assert (entry.user_email, entry.tenant_id, entry.row_id) == ("consultant@acme.test", tenants["ACME"],
                                                                     settings.id)
    assert "header_text" not in entries  # unchanged fields are not logged

    page = b.get(response.headers["Location"])
    assert field_value(page, "labour_nature_prefix") == "5MO"
    assert 'id="tab-coefficients"' in page.get_data(as_text=True)
    assert "active" in parse(page).find("a", id="tab-coefficients").classes


def test_each_tenant_has_its_own_settings(app, browser, tenants):
    acme = browser("consultant@acme.test")
    data = {**form_values(acme.get(URL), FORM), "labour_nature_prefix": "ACM"}
    assert acme.post(URL, data).status_code == 302
    assert _settings(app, tenants["ACME"]).labour_nature_prefix == "ACM"
    assert _settings(app, tenants["BETA"]).labour_nature_prefix == "4MO"
    assert field_value(browser("viewer@beta.test").get(URL), "labour_nature_prefix") == "4MO"


def test_settings_missing_for_a_tenant_are_created_with_the_defaults(app, browser, tenants):
    with app.app_context():
        db.session.query(DossierSettings).filter_by(tenant_id=tenants["ACME"]).delete()
        db.session.commit()
    page = browser("viewer@acme.test").get(URL)
    assert page.status_code == 200 and field_value(page, "labour_nature_prefix") == "4MO"
    assert _settings(app, tenants["ACME"]).quote_validity_days == 30


MO_FILE = Path(__file__).resolve().parents[2] / "translations" / "fr" / "LC_MESSAGES" / "messages.mo"


@pytest.mark.skipif(not MO_FILE.exists(), reason="French catalogue not compiled yet (make translations)")
def test_the_form_speaks_french(browser, tenants):
    root = parse(browser("consultant@acme.test").get(URL))
    label = root.find("label", **{"for": "labour_nature_prefix"}).text
    assert label.startswith("Préfixe") and "Labour" not in label
    assert "Paramètres dossier" in root.text
