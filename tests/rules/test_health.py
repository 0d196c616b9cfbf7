"""The parameter health check: each rule on a tenant built to break it, then clean once
fixed; the command's exit code and JSON; the screen (roles, links, export, home count)."""
import io
import json
from decimal import Decimal

import openpyxl
import pytest

from core.extensions import db
from models import (
    Article, Connector, DossierSettings, Invoice, NumberingSequence, OperationCode, ProductNature, Unit, VatRate,
)
from models.master_data import Client
from rules.health import health_findings
from tests.rules.invoice_factory import COMPANY


def _rules(tenant_id) -> dict[str, list[str]]:
    found = {}
    for finding in health_findings(tenant_id):
        found.setdefault(finding.rule, []).append(finding.row_code)
    return found


def _healthy(tenant_id):
    """What a consistent dossier has: codes with credit notes, sequences, a labour nature,
    an identity (the tenant's name is its company name)."""
    credit = OperationCode(tenant_id=tenant_id, code="AV", label="Avoir", document_type="credit_note")
    db.session.add_all([
        credit, OperationCode(tenant_id=tenant_id, code="FA", label="Facture", document_type="invoice",
                              credit_note_operation_code=credit),
        NumberingSequence(tenant_id=tenant_id, code="FAC", label="Factures", document_type="invoice", prefix="FA",
                          padding=6, gapless=True),
        NumberingSequence(tenant_id=tenant_id, code="AVO", label="Avoirs", document_type="credit_note",
                          prefix="AV", padding=6, gapless=True),
        ProductNature(tenant_id=tenant_id, code="4MO01", label="Main-d'œuvre"),
        VatRate(tenant_id=tenant_id, code="T20", label="TVA 20 %", rate=Decimal("20")),
        Unit(tenant_id=tenant_id, code="H", label="Heure", un_ece_code="HUR"),
    ])
    db.session.flush()
    for name, value in COMPANY.items():  # the complete identity the legal invoices need
        setattr(db.session.query(DossierSettings).filter_by(tenant_id=tenant_id).one(), name, value)
    db.session.flush()


def test_each_rule_on_a_tenant_built_to_break_it(app_ctx, tenants):
    acme = tenants["ACME"]
    _healthy(acme)
    db.session.commit()
    assert _rules(acme) == {}

    credit = db.session.query(OperationCode).filter_by(tenant_id=acme, code="AV").one()
    wrong = OperationCode(tenant_id=acme, code="QT", label="Devis", document_type="quote", billable=True)
    db.session.add(wrong)
    db.session.flush()
    db.session.add_all([
        OperationCode(tenant_id=acme, code="AC", label="Acompte", document_type="down_payment"),  # no credit note
        OperationCode(tenant_id=acme, code="FB", label="Facture B", document_type="invoice",
                      credit_note_operation_code=wrong),
        VatRate(tenant_id=acme, code="T07", label="TVA 7 %", rate=Decimal("7")),
        Article(tenant_id=acme, code="ART1", label="Sans TVA ni unité"),
        Unit(tenant_id=acme, code="M", label="Mètre"),  # no UN/ECE code
    ])
    settings = db.session.query(DossierSettings).filter_by(tenant_id=acme).one()
    settings.operational_order_operation_code = wrong
    credit.active = False
    settings.grouped_billing_operation_code = credit  # a billing code must have a credit note; inactive too
    settings.vat_number = None
    db.session.query(NumberingSequence).filter_by(tenant_id=acme, code="AVO").one().gapless = False
    long_sequence = db.session.query(NumberingSequence).filter_by(tenant_id=acme, code="FAC").one()
    long_sequence.prefix, long_sequence.padding = "F" * 20, 16  # 36 characters
    db.session.commit()
    found = _rules(acme)
    assert found["CREDIT_NOTE_CODE_MISSING"] == ["AC", "AV"]
    assert found["CREDIT_NOTE_CODE_NOT_CREDIT_NOTE"] == ["FB"]
    assert found["OPERATIONAL_ORDER_CODE_BILLABLE"] == ["QT"]
    assert found["SETTING_POINTS_TO_INACTIVE_ROW"] == ["AV"]
    assert found["GAPLESS_SEQUENCE_MISSING"] == [""]
    assert found["INVOICE_NUMBER_TOO_LONG"] == ["FAC"]
    assert found["VAT_RATE_NOT_FRENCH"] == ["T07"]
    assert found["ARTICLE_WITHOUT_VAT_RATE"] == ["ART1"] and found["ARTICLE_WITHOUT_UNIT"] == ["ART1"]
    assert found["COMPANY_IDENTITY_INCOMPLETE"] == [""] and found["UNIT_WITHOUT_UN_ECE_CODE"] == ["M"]
    assert "LABOUR_NATURE_MISSING" not in found
    messages = {f.rule: f.message for f in health_findings(acme)}
    assert "7 %" in messages["VAT_RATE_NOT_FRENCH"] and "numéro de tva" in messages["COMPANY_IDENTITY_INCOMPLETE"].lower()

    settings.labour_nature_prefix = "9XX"
    settings.cost_valuation_method = "purchase_price"
    db.session.commit()
    assert "LABOUR_NATURE_MISSING" in _rules(acme)
    settings.labour_nature_prefix = "4MO"
    nature = db.session.query(ProductNature).filter_by(tenant_id=acme).one()
    db.session.add(Article(tenant_id=acme, code="MO1", label="Heure de pose", nature_id=nature.id,
                           vat_rate=db.session.query(VatRate).filter_by(tenant_id=acme, code="T20").one(),
                           unit=db.session.query(Unit).filter_by(tenant_id=acme, code="H").one()))
    db.session.commit()
    assert _rules(acme)["LABOUR_ARTICLE_WITHOUT_PURCHASE_PRICE"] == ["MO1"]
    assert not _rules(tenants["BETA"]).get("VAT_RATE_NOT_FRENCH")  # another tenant's rows are not its findings


def test_sequences_of_the_documents_in_use(app_ctx, tenants):
    acme = tenants["ACME"]
    _healthy(acme)
    db.session.query(NumberingSequence).filter_by(tenant_id=acme, code="FAC").delete()
    client = Client(tenant_id=acme, code="C1", name="Client")
    db.session.add(client)
    db.session.flush()
    db.session.add(Invoice(tenant_id=acme, client_id=client.id))
    db.session.add(Connector(tenant_id=acme, code="TST", kind="test", enabled=True, settings={"documents": "x"}))
    db.session.commit()
    found = _rules(acme)
    assert "SEQUENCE_MISSING_FOR_TYPE_IN_USE" in found and "GAPLESS_SEQUENCE_MISSING" in found
    # An enabled connector whose saved settings no longer validate.
    assert found["CONNECTOR_SETTINGS_INCOMPLETE"] == ["TST"]
    db.session.query(Connector).filter_by(tenant_id=acme).one().enabled = False
    db.session.commit()
    assert "CONNECTOR_SETTINGS_INCOMPLETE" not in _rules(acme)


def test_command_exit_code_and_json(app, tenants):
    runner = app.test_cli_runner()
    broken = runner.invoke(args=["params", "check", "--tenant", "ACME", "--json"])
    assert broken.exit_code == 1
    rules = {finding["rule"] for finding in json.loads(broken.output)}
    assert {"GAPLESS_SEQUENCE_MISSING", "COMPANY_IDENTITY_INCOMPLETE"} <= rules
    with app.app_context():
        _healthy(tenants["ACME"])
        db.session.commit()
    clean = runner.invoke(args=["params", "check", "--tenant", "ACME"])
    assert clean.exit_code == 0 and "0 findings" in clean.output


@pytest.mark.parametrize("email, status", [("consultant@acme.test", 200), ("admin@acme.test", 200),
                                           ("backoffice@acme.test", 403), ("viewer@acme.test", 403)])
def test_screen_roles(browser, tenants, email, status):
    assert browser(email).get("/admin/parameter-health/").status_code == status


def test_screen_groups_links_export_and_home_count(app, browser, tenants):
    b = browser("consultant@acme.test")
    with app.app_context():
        _healthy(tenants["ACME"])
        db.session.add(VatRate(tenant_id=tenants["ACME"], code="T07", label="<script>x</script>", rate=Decimal("7")))
        db.session.query(NumberingSequence).filter_by(tenant_id=tenants["ACME"], code="AVO").one().gapless = False
        db.session.commit()
        rate_id = db.session.query(VatRate.id).filter_by(code="T07").scalar()
    page = b.get("/admin/parameter-health/").get_data(as_text=True)
    assert 'id="health-blocking"' in page and 'id="health-warning"' in page
    assert f'href="/admin/vat-rates/edit/?id={rate_id}' in page
    assert "Bloquant (1)" in page and "<script>x" not in page
    home = b.get("/admin/").get_data(as_text=True)
    assert "1 problème bloquant dans les paramètres" in home and "/admin/parameter-health/" in home
    assert "problème bloquant" not in browser("backoffice@acme.test").get("/admin/").get_data(as_text=True)
    export = b.get("/admin/parameter-health/export/xlsx/")
    assert export.status_code == 200 and "controle_des_parametres_" in export.headers["Content-Disposition"]
    rows = list(openpyxl.load_workbook(io.BytesIO(export.data)).worksheets[0].iter_rows(values_only=True))
    assert rows[0][:2] == ("Gravité", "Règle") and {"GAPLESS_SEQUENCE_MISSING", "VAT_RATE_NOT_FRENCH"} <= {r[1] for r in rows}
