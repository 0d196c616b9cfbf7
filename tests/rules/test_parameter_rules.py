"""The rules of parameters.md as plain functions (rules.parameters, rules.settings), and
the database constraints behind them."""
from decimal import Decimal

import pytest
from flask_babel import force_locale
from sqlalchemy.exc import IntegrityError

from core.extensions import db
from core.glossary import SETTINGS_LABELS
from models import (
    ArticleFamily, DocumentTitle, DossierSettings, Establishment, NumberingSequence, OperationCode,
    ProductNature, Unit, VatRate,
)
from rules.numbering import take_next_number
from rules.parameters import (
    article_family_errors, code_errors, deletion_errors, numbering_sequence_errors, operation_code_errors,
    product_nature_errors, settings_references, vat_rate_errors,
)
from rules.settings import dossier_settings_errors, fill_label_wildcards
from rules.tenancy import create_tenant


@pytest.fixture
def tenants(app_ctx):
    """ACME and BETA with their default dossier settings (no users: rules need none)."""
    result = {code: create_tenant(code, f"{code} Bâtiment").id for code in ("ACME", "BETA")}
    db.session.commit()
    return result


def _add(row):
    db.session.add(row)
    db.session.flush()
    return row


def _code(tenant_id, code, document_type, credit_note=None, billable=False):
    return _add(OperationCode(tenant_id=tenant_id, code=code, label=code, document_type=document_type,
                              billable=billable, credit_note_operation_code=credit_note))


# --- code ---------------------------------------------------------------------------------------

def test_the_code_is_mandatory_and_unique_in_its_tenant_only(app_ctx, tenants):
    acme, beta = tenants["ACME"], tenants["BETA"]
    unit = _add(Unit(tenant_id=acme, code="H", label="Heure"))
    assert set(code_errors(Unit, {"code": ""}, acme, None)) == {"code"}
    assert set(code_errors(Unit, {"code": "   "}, acme, None)) == {"code"}
    assert set(code_errors(Unit, {"code": "H"}, acme, None)) == {"code"}
    assert "H" in code_errors(Unit, {"code": " H "}, acme, None)["code"]
    assert code_errors(Unit, {"code": "H"}, acme, unit.id) == {}  # the row itself, when edited
    assert code_errors(Unit, {"code": "H"}, beta, None) == {}  # another tenant may use it
    assert code_errors(Unit, {"code": "J"}, acme, None) == {}
    assert code_errors(VatRate, {"code": "H"}, acme, None) == {}  # unique per table


def test_the_database_refuses_a_code_twice_in_a_tenant(app_ctx, tenants):
    _add(Unit(tenant_id=tenants["ACME"], code="H", label="Heure"))
    _add(Unit(tenant_id=tenants["BETA"], code="H", label="Heure"))
    with pytest.raises(IntegrityError):
        _add(Unit(tenant_id=tenants["ACME"], code="H", label="Encore"))
    db.session.rollback()


# --- operation codes ------------------------------------------------------------------------------

@pytest.mark.parametrize("document_type", ["invoice", "down_payment"])
def test_invoice_and_down_payment_codes_need_a_credit_note_code(app_ctx, tenants, document_type):
    acme = tenants["ACME"]
    errors = operation_code_errors({"document_type": document_type, "credit_note_operation_code": None}, acme, None)
    assert set(errors) == {"credit_note_operation_code"}
    credit_note = _code(acme, "AV", "credit_note")
    assert operation_code_errors({"document_type": document_type, "credit_note_operation_code": credit_note},
                                 acme, None) == {}


@pytest.mark.parametrize("document_type", ["quote", "order", "delivery_note", "credit_note"])
def test_other_codes_do_not_need_a_credit_note_code(app_ctx, tenants, document_type):
    assert operation_code_errors({"document_type": document_type, "credit_note_operation_code": None},
                                 tenants["ACME"], None) == {}


@pytest.mark.parametrize("wrong_type", ["invoice", "quote", "down_payment", "order"])
def test_the_credit_note_code_must_be_of_type_credit_note(app_ctx, tenants, wrong_type):
    acme = tenants["ACME"]
    wrong = _code(acme, "XX", wrong_type, credit_note=_code(acme, "AV", "credit_note"))
    errors = operation_code_errors({"document_type": "invoice", "credit_note_operation_code": wrong}, acme, None)
    assert set(errors) == {"credit_note_operation_code"}
    assert "XX" in errors["credit_note_operation_code"]


def test_the_credit_note_code_must_belong_to_the_same_tenant(app_ctx, tenants):
    theirs = _code(tenants["BETA"], "AV", "credit_note")
    errors = operation_code_errors({"document_type": "invoice", "credit_note_operation_code": theirs},
                                   tenants["ACME"], None)
    assert set(errors) == {"credit_note_operation_code"}


def test_a_code_cannot_be_its_own_credit_note_code(app_ctx, tenants):
    own = _code(tenants["ACME"], "AV", "credit_note")
    errors = operation_code_errors({"document_type": "credit_note", "credit_note_operation_code": own},
                                   tenants["ACME"], own.id)
    assert set(errors) == {"credit_note_operation_code"}


# --- numbering sequences --------------------------------------------------------------------------

def _sequence_values(**values):
    return {"document_type": "order", "establishment": None, "gapless": False, "next_number": 1, "padding": 6,
            **values}


def _sequence(tenant_id, code, document_type, establishment=None, **values):
    return _add(NumberingSequence(tenant_id=tenant_id, code=code, label=code, document_type=document_type,
                                  establishment=establishment, gapless=document_type in ("invoice", "credit_note"),
                                  **values))


def test_one_sequence_per_tenant_document_type_and_establishment(app_ctx, tenants):
    acme, beta = tenants["ACME"], tenants["BETA"]
    lyon = _add(Establishment(tenant_id=acme, code="LYON", label="Lyon"))
    grenoble = _add(Establishment(tenant_id=acme, code="GRE", label="Grenoble"))
    tenant_wide = _sequence(acme, "CDE", "order")
    for_lyon = _sequence(acme, "CDE-LYO", "order", lyon)

    twin = numbering_sequence_errors(_sequence_values(), acme, None)  # NULL establishment twice
    assert set(twin) == {"document_type"} and "CDE" in twin["document_type"]
    twin = numbering_sequence_errors(_sequence_values(establishment=lyon), acme, None)
    assert set(twin) == {"document_type"} and "CDE-LYO" in twin["document_type"]
    assert numbering_sequence_errors(_sequence_values(establishment=grenoble), acme, None) == {}
    assert numbering_sequence_errors(_sequence_values(document_type="quote"), acme, None) == {}
    assert numbering_sequence_errors(_sequence_values(), beta, None) == {}
    # editing a sequence does not find itself
    assert numbering_sequence_errors(_sequence_values(), acme, tenant_wide.id) == {}
    assert numbering_sequence_errors(_sequence_values(establishment=lyon), acme, for_lyon.id) == {}


def test_the_database_refuses_a_second_sequence_for_the_same_scope(app_ctx, tenants):
    acme = tenants["ACME"]
    _sequence(acme, "CDE", "order")
    _sequence(tenants["BETA"], "CDE", "order")
    with pytest.raises(IntegrityError):  # NULL establishments count as the same scope
        _sequence(acme, "CDE2", "order")
    db.session.rollback()
    lyon = _add(Establishment(tenant_id=acme, code="LYON", label="Lyon"))
    _sequence(acme, "CDE-LYO", "order", lyon)
    with pytest.raises(IntegrityError):
        _sequence(acme, "CDE-LYO2", "order", lyon)
    db.session.rollback()


@pytest.mark.parametrize("document_type", ["invoice", "credit_note"])
def test_invoice_and_credit_note_sequences_must_be_gapless(app_ctx, tenants, document_type):
    acme = tenants["ACME"]
    errors = numbering_sequence_errors(_sequence_values(document_type=document_type, gapless=False), acme, None)
    assert set(errors) == {"gapless"}
    assert numbering_sequence_errors(_sequence_values(document_type=document_type, gapless=True), acme, None) == {}


@pytest.mark.parametrize("document_type", ["works_quote", "quote", "order", "delivery_note", "intervention",
                                           "equipment"])
def test_other_sequences_may_have_gaps(app_ctx, tenants, document_type):
    assert numbering_sequence_errors(_sequence_values(document_type=document_type), tenants["ACME"], None) == {}


def test_next_number_cannot_go_to_or_below_the_highest_number_used(app_ctx, tenants):
    acme = tenants["ACME"]
    sequence = _sequence(acme, "FAC", "invoice", next_number=1)
    for _ in range(5):
        take_next_number(sequence.id)
    db.session.flush()
    values = _sequence_values(document_type="invoice", gapless=True)
    for lowered in (5, 3, 1):
        errors = numbering_sequence_errors({**values, "next_number": lowered}, acme, sequence.id)
        assert set(errors) == {"next_number"}, lowered
        assert "5" in errors["next_number"]
    assert numbering_sequence_errors({**values, "next_number": 6}, acme, sequence.id) == {}
    assert numbering_sequence_errors({**values, "next_number": 100}, acme, sequence.id) == {}


def test_an_unused_sequence_can_be_lowered_but_not_below_one(app_ctx, tenants):
    acme = tenants["ACME"]
    sequence = _sequence(acme, "CDE", "order", next_number=50)
    assert numbering_sequence_errors(_sequence_values(next_number=1), acme, sequence.id) == {}
    for wrong in (0, -3, None):
        assert set(numbering_sequence_errors(_sequence_values(next_number=wrong), acme, sequence.id)) == {"next_number"}
    assert set(numbering_sequence_errors(_sequence_values(padding=21), acme, sequence.id)) == {"padding"}
    assert set(numbering_sequence_errors(_sequence_values(padding=-1), acme, sequence.id)) == {"padding"}


# --- VAT rates, product natures, families ------------------------------------------------------------

@pytest.mark.parametrize("rate", ["0", "5.5", "20", "100"])
def test_vat_rates_from_0_to_100_are_accepted(app_ctx, tenants, rate):
    assert vat_rate_errors({"rate": Decimal(rate)}, tenants["ACME"], None) == {}


@pytest.mark.parametrize("rate", ["-0.01", "-5", "100.01", "200", None])
def test_vat_rates_outside_0_to_100_are_refused(app_ctx, tenants, rate):
    errors = vat_rate_errors({"rate": None if rate is None else Decimal(rate)}, tenants["ACME"], None)
    assert set(errors) == {"rate"}


def test_the_database_refuses_a_vat_rate_outside_0_to_100(app_ctx, tenants):
    with pytest.raises(IntegrityError):
        _add(VatRate(tenant_id=tenants["ACME"], code="T", label="T", rate=Decimal("100.5")))
    db.session.rollback()


def test_a_product_nature_overhead_override_must_be_positive(app_ctx, tenants):
    acme = tenants["ACME"]
    assert product_nature_errors({"overhead_coefficient": None}, acme, None) == {}
    assert product_nature_errors({"overhead_coefficient": Decimal("1.15")}, acme, None) == {}
    for wrong in ("0", "-1"):
        assert set(product_nature_errors({"overhead_coefficient": Decimal(wrong)}, acme, None)) == {
            "overhead_coefficient"}


def test_a_family_parent_must_be_a_family(app_ctx, tenants):
    acme = tenants["ACME"]
    family = _add(ArticleFamily(tenant_id=acme, code="ELEC", label="Électricité"))
    subfamily = _add(ArticleFamily(tenant_id=acme, code="ELEC-CAB", label="Câbles", parent=family))
    assert article_family_errors({"parent": None}, acme, None) == {}
    assert article_family_errors({"parent": family}, acme, None) == {}
    assert set(article_family_errors({"parent": subfamily}, acme, None)) == {"parent"}
    assert set(article_family_errors({"parent": family}, acme, family.id)) == {"parent"}


# --- deleting referenced rows ---------------------------------------------------------------------

SETTINGS_CODE_FIELDS = (
    "classic_order_operation_code", "operational_order_operation_code", "intervention_delivery_operation_code",
    "grouped_billing_operation_code", "detailed_billing_operation_code", "final_billing_operation_code",
    "down_payment_operation_code",
)


@pytest.mark.parametrize("setting", SETTINGS_CODE_FIELDS)
def test_a_code_used_by_the_dossier_settings_cannot_be_deleted_and_the_message_names_the_setting(
        app, app_ctx, tenants, setting):
    acme = tenants["ACME"]
    code = _code(acme, "OP1", "order")
    unused = _code(acme, "OP2", "order")
    settings = db.session.query(DossierSettings).filter_by(tenant_id=acme).one()
    setattr(settings, f"{setting}_id", code.id)
    db.session.flush()
    with app.test_request_context(), force_locale("fr"):
        label = str(SETTINGS_LABELS[setting])
        assert settings_references(code) == [label]
        messages = deletion_errors(code)
    assert len(messages) == 1
    assert "OP1" in messages[0] and label in messages[0]
    assert deletion_errors(unused) == []


def test_a_row_used_by_several_settings_names_them_all(app, app_ctx, tenants):
    acme = tenants["ACME"]
    unit = _add(Unit(tenant_id=acme, code="H", label="Heure"))
    settings = db.session.query(DossierSettings).filter_by(tenant_id=acme).one()
    settings.labour_unit_id = settings.intervention_time_unit_id = unit.id
    db.session.flush()
    with app.test_request_context(), force_locale("fr"):
        labels = {str(SETTINGS_LABELS["labour_unit"]), str(SETTINGS_LABELS["intervention_time_unit"])}
        assert set(settings_references(unit)) == labels
        assert all(label in deletion_errors(unit)[0] for label in labels)


def test_the_settings_of_another_tenant_do_not_block_a_deletion(app_ctx, tenants):
    mine = _code(tenants["ACME"], "OP1", "order")
    theirs = _code(tenants["BETA"], "OP1", "order")
    settings = db.session.query(DossierSettings).filter_by(tenant_id=tenants["BETA"]).one()
    settings.classic_order_operation_code_id = theirs.id
    db.session.flush()
    assert deletion_errors(mine) == []
    assert deletion_errors(theirs)


def test_other_referenced_rows_cannot_be_deleted_either(app_ctx, tenants):
    acme = tenants["ACME"]
    credit_note = _code(acme, "AV", "credit_note")
    title = _add(DocumentTitle(tenant_id=acme, code="FAC", label="Facture", document_type="invoice"))
    invoice = _add(OperationCode(tenant_id=acme, code="FA", label="Facture", document_type="invoice",
                                 credit_note_operation_code=credit_note, document_title=title))
    lyon = _add(Establishment(tenant_id=acme, code="LYON", label="Lyon"))
    _sequence(acme, "CDE-LYO", "order", lyon)
    family = _add(ArticleFamily(tenant_id=acme, code="ELEC", label="Électricité"))
    _add(ArticleFamily(tenant_id=acme, code="ELEC-CAB", label="Câbles", parent=family))
    for row in (credit_note, title, lyon, family):
        messages = deletion_errors(row)
        assert len(messages) == 1 and row.code in messages[0], row.code
    assert deletion_errors(invoice) == []
    assert deletion_errors(_add(ProductNature(tenant_id=acme, code="4MO", label="MO"))) == []


# --- dossier settings -----------------------------------------------------------------------------

def _settings_values(**values):
    base = {"labour_nature_prefix": "4MO", "quote_validity_days": 30, "labour_sales_coefficient": Decimal(1),
            "supply_sales_coefficient": Decimal(1), "difficulty_coefficient": Decimal(1),
            "overhead_coefficient": Decimal(1), "down_payment_deduction_message": "off",
            "down_payment_deduction_alert_percent": None}
    return {**base, **values}


def test_default_settings_break_no_rule(app_ctx, tenants):
    assert dossier_settings_errors(_settings_values(), tenants["ACME"]) == {}


def test_every_broken_settings_rule_is_reported_at_once(app_ctx, tenants):
    acme = tenants["ACME"]
    billable = _code(acme, "OO", "order", billable=True)
    without_credit_note = _add(OperationCode(tenant_id=acme, code="FS", label="FS", document_type="invoice"))
    errors = dossier_settings_errors(_settings_values(
        labour_nature_prefix="  ", quote_validity_days=-1, labour_sales_coefficient=Decimal(0),
        supply_sales_coefficient=Decimal("-1"), difficulty_coefficient=None, overhead_coefficient=Decimal(0),
        operational_order_operation_code=billable, grouped_billing_operation_code=without_credit_note,
        detailed_billing_operation_code=without_credit_note, final_billing_operation_code=without_credit_note,
        down_payment_operation_code=without_credit_note, down_payment_deduction_message="alert"), acme)
    assert set(errors) == {
        "labour_nature_prefix", "quote_validity_days", "labour_sales_coefficient", "supply_sales_coefficient",
        "difficulty_coefficient", "overhead_coefficient", "operational_order_operation_code",
        "grouped_billing_operation_code", "detailed_billing_operation_code", "final_billing_operation_code",
        "down_payment_operation_code", "down_payment_deduction_alert_percent"}
    assert "OO" in errors["operational_order_operation_code"]
    assert "FS" in errors["grouped_billing_operation_code"]


def test_settings_rules_accept_valid_codes(app_ctx, tenants):
    acme = tenants["ACME"]
    credit_note = _code(acme, "AV", "credit_note")
    billing = _code(acme, "FS", "invoice", credit_note=credit_note, billable=True)
    not_billable = _code(acme, "OO", "order")
    assert dossier_settings_errors(_settings_values(
        operational_order_operation_code=not_billable, grouped_billing_operation_code=billing,
        down_payment_operation_code=billing, down_payment_deduction_message="alert",
        down_payment_deduction_alert_percent=Decimal("80")), acme) == {}


@pytest.mark.parametrize("percent", ["-1", "100.5"])
def test_the_deduction_alert_percentage_is_0_to_100(app_ctx, tenants, percent):
    errors = dossier_settings_errors(_settings_values(
        down_payment_deduction_message="alert", down_payment_deduction_alert_percent=Decimal(percent)),
        tenants["ACME"])
    assert set(errors) == {"down_payment_deduction_alert_percent"}


def test_settings_relations_must_belong_to_the_tenant(app_ctx, tenants):
    theirs = _code(tenants["BETA"], "CO", "order")
    unit = _add(Unit(tenant_id=tenants["BETA"], code="H", label="Heure"))
    errors = dossier_settings_errors(_settings_values(classic_order_operation_code=theirs, labour_unit=unit),
                                     tenants["ACME"])
    assert set(errors) == {"classic_order_operation_code", "labour_unit"}


def test_label_wildcards_are_replaced():
    assert fill_label_wildcards("Travaux TVA #TVA# — facture #FACTURE#", Decimal("5.50"), "FA000042") == \
        "Travaux TVA 5,5 % — facture FA000042"
    assert fill_label_wildcards("Acompte TVA #TVA#", Decimal("20")) == "Acompte TVA 20 %"
