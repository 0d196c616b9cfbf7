"""The rules of parameters.md through the screens: each broken rule is shown next to its
field and nothing is saved; referenced rows cannot be deleted (the message says why);
lists search, filter, sort and page."""
from decimal import Decimal
from pathlib import Path

import pytest
from flask_babel import force_locale

from core.extensions import db
from core.glossary import SETTINGS_LABELS
from models import (
    ArticleFamily, DocumentTitle, DossierSettings, Establishment, NumberingSequence, OperationCode, Unit, VatRate,
)
from rules.numbering import take_next_number
from rules.parameters import deletion_errors, numbering_sequence_errors, operation_code_errors
from html_page import alerts, field_errors, fields_with_errors, form_values, list_cells, list_count
from param_rows import add_row, admin_view

CONSULTANT = "consultant@acme.test"


def _in_french(app, function, *args):
    """What a rule says, in the UI language of the test users (French)."""
    with app.test_request_context(), force_locale("fr"):
        return function(*args)


def _rows(app, model, tenant_id, **filters):
    with app.app_context():
        return sorted(row.code for row in db.session.query(model).filter_by(tenant_id=tenant_id, **filters))


def _get(app, model, row_id):
    with app.app_context():
        row = db.session.get(model, row_id)
        db.session.expunge(row)
        return row


@pytest.fixture
def codes(app, tenants):
    """ACME's credit-note code AV, invoice code FA (credit note AV) and quote code DE."""
    with app.app_context():
        credit_note = add_row(OperationCode, tenants["ACME"], "AV", "Avoir", document_type="credit_note",
                              billable=True)
        invoice = add_row(OperationCode, tenants["ACME"], "FA", "Facture", document_type="invoice", billable=True,
                          credit_note_operation_code_id=credit_note.id)
        quote = add_row(OperationCode, tenants["ACME"], "DE", "Devis", document_type="quote")
        return {"AV": credit_note.id, "FA": invoice.id, "DE": quote.id}


def _operation_code(**values):
    return {"code": "NEW", "label": "Nouveau", "document_type": "invoice", "billable": "y", "active": "y",
            "credit_note_operation_code": "__None", **values}


# --- operation codes ------------------------------------------------------------------------------

@pytest.mark.parametrize("document_type", ["invoice", "down_payment"])
def test_an_invoice_or_down_payment_code_without_credit_note_code_is_refused(
        app, browser, tenants, codes, document_type):
    response = browser(CONSULTANT).post("/admin/operation-codes/new/", _operation_code(document_type=document_type))
    assert response.status_code == 200
    expected = _in_french(app, operation_code_errors, {"document_type": document_type,
                                                       "credit_note_operation_code": None}, tenants["ACME"], None)
    assert field_errors(response, "credit_note_operation_code") == [expected["credit_note_operation_code"]]
    assert fields_with_errors(response) == {"credit_note_operation_code"}
    assert _rows(app, OperationCode, tenants["ACME"]) == ["AV", "DE", "FA"]


@pytest.mark.parametrize("document_type", ["invoice", "down_payment"])
def test_an_invoice_or_down_payment_code_with_a_credit_note_code_is_saved(app, browser, tenants, codes, document_type):
    response = browser(CONSULTANT).post("/admin/operation-codes/new/", _operation_code(
        document_type=document_type, credit_note_operation_code=str(codes["AV"])))
    assert response.status_code == 302
    with app.app_context():
        row = db.session.query(OperationCode).filter_by(code="NEW").one()
        assert (row.tenant_id, row.document_type, row.credit_note_operation_code.code) == (
            tenants["ACME"], document_type, "AV")


def test_a_quote_code_needs_no_credit_note_code(app, browser, tenants, codes):
    response = browser(CONSULTANT).post("/admin/operation-codes/new/", _operation_code(document_type="quote"))
    assert response.status_code == 302
    assert "NEW" in _rows(app, OperationCode, tenants["ACME"])


@pytest.mark.parametrize("wrong", ["FA", "DE"])
def test_the_credit_note_code_must_be_of_type_credit_note(app, browser, tenants, codes, wrong):
    response = browser(CONSULTANT).post("/admin/operation-codes/new/", _operation_code(
        credit_note_operation_code=str(codes[wrong])))
    assert response.status_code == 200
    errors = field_errors(response, "credit_note_operation_code")
    assert len(errors) == 1 and wrong in errors[0]
    assert _rows(app, OperationCode, tenants["ACME"]) == ["AV", "DE", "FA"]


def test_the_credit_note_code_of_another_tenant_is_refused(app, browser, tenants, codes):
    with app.app_context():
        theirs = add_row(OperationCode, tenants["BETA"], "AVB", document_type="credit_note").id
    response = browser(CONSULTANT).post("/admin/operation-codes/new/", _operation_code(
        credit_note_operation_code=str(theirs)))
    assert response.status_code == 200 and field_errors(response, "credit_note_operation_code")
    assert _rows(app, OperationCode, tenants["ACME"]) == ["AV", "DE", "FA"]


def test_removing_the_credit_note_code_of_an_invoice_code_is_refused(app, browser, tenants, codes):
    b = browser(CONSULTANT)
    url = f"/admin/operation-codes/edit/?id={codes['FA']}"
    data = {**form_values(b.get(url)), "credit_note_operation_code": "__None", "label": "Changed"}
    response = b.post(url, data)
    assert response.status_code == 200 and field_errors(response, "credit_note_operation_code")
    row = _get(app, OperationCode, codes["FA"])
    assert (row.label, row.credit_note_operation_code_id) == ("Facture", codes["AV"])


def test_a_code_cannot_be_its_own_credit_note_code(app, browser, tenants, codes):
    b = browser(CONSULTANT)
    url = f"/admin/operation-codes/edit/?id={codes['AV']}"
    response = b.post(url, {**form_values(b.get(url)), "credit_note_operation_code": str(codes["AV"])})
    assert response.status_code == 200 and field_errors(response, "credit_note_operation_code")
    assert _get(app, OperationCode, codes["AV"]).credit_note_operation_code_id is None


# --- deleting referenced rows --------------------------------------------------------------------

@pytest.mark.parametrize("setting", ["grouped_billing_operation_code", "operational_order_operation_code",
                                     "classic_order_operation_code", "down_payment_operation_code"])
def test_a_code_used_by_the_dossier_settings_cannot_be_deleted(app, browser, tenants, codes, setting):
    with app.app_context():
        settings = db.session.query(DossierSettings).filter_by(tenant_id=tenants["ACME"]).one()
        setattr(settings, f"{setting}_id", codes["DE"])
        db.session.commit()
        row = db.session.get(OperationCode, codes["DE"])
        with app.test_request_context(), force_locale("fr"):
            expected = " ".join(deletion_errors(row))
            label = str(SETTINGS_LABELS[setting])
    b = browser(CONSULTANT)
    assert b.post("/admin/operation-codes/delete/", {"id": str(codes["DE"])}).status_code == 302
    messages = alerts(b.get("/admin/operation-codes/"))
    assert any(expected in message for message in messages), messages
    assert any(label in message and "DE" in message for message in messages)
    # the bulk delete of the list refuses it the same way
    b.post("/admin/operation-codes/action/", {"action": "delete", "rowid": [str(codes["DE"])]})
    assert any(label in message for message in alerts(b.get("/admin/operation-codes/")))
    assert _rows(app, OperationCode, tenants["ACME"]) == ["AV", "DE", "FA"]


def test_an_unused_code_can_be_deleted(app, browser, tenants, codes):
    b = browser(CONSULTANT)
    assert b.post("/admin/operation-codes/delete/", {"id": str(codes["DE"])}).status_code == 302
    assert _rows(app, OperationCode, tenants["ACME"]) == ["AV", "FA"]


def test_other_referenced_rows_cannot_be_deleted(app, browser, tenants, codes):
    acme = tenants["ACME"]
    with app.app_context():
        title = add_row(DocumentTitle, acme, "TFA", document_type="invoice")
        db.session.get(OperationCode, codes["FA"]).document_title_id = title.id
        lyon = add_row(Establishment, acme, "LYON")
        add_row(NumberingSequence, acme, "CDE-LYO", document_type="order", establishment_id=lyon.id)
        family = add_row(ArticleFamily, acme, "ELEC")
        add_row(ArticleFamily, acme, "ELEC-CAB", parent_id=family.id)
        unit = add_row(Unit, acme, "H")
        settings = db.session.query(DossierSettings).filter_by(tenant_id=acme).one()
        settings.labour_unit_id = unit.id
        db.session.commit()
        used = {"operation-codes": (OperationCode, codes["AV"], "AV"), "document-titles": (DocumentTitle, title.id, "TFA"),
                "establishments": (Establishment, lyon.id, "LYON"), "article-families": (ArticleFamily, family.id, "ELEC"),
                "units": (Unit, unit.id, "H")}
    b = browser(CONSULTANT)
    for screen, (model, row_id, code) in used.items():
        b.post(f"/admin/{screen}/delete/", {"id": str(row_id)})
        messages = alerts(b.get(f"/admin/{screen}/"))
        assert any(code in message for message in messages), (screen, messages)
        with app.app_context():
            assert db.session.get(model, row_id) is not None, screen


# --- numbering sequences ------------------------------------------------------------------------

def _sequence(**values):
    return {"code": "NEW", "label": "Nouvelle", "document_type": "order", "establishment": "__None",
            "prefix": "CD", "padding": "6", "next_number": "1", **values}


@pytest.fixture
def sequences(app, tenants):
    """ACME: a tenant-wide order sequence CDE, one for the establishment LYON, and GRE unused."""
    with app.app_context():
        lyon = add_row(Establishment, tenants["ACME"], "LYON")
        grenoble = add_row(Establishment, tenants["ACME"], "GRE")
        add_row(NumberingSequence, tenants["ACME"], "CDE", document_type="order")
        add_row(NumberingSequence, tenants["ACME"], "CDE-LYO", document_type="order", establishment_id=lyon.id)
        return {"LYON": lyon.id, "GRE": grenoble.id}


def test_a_second_tenant_wide_sequence_for_a_document_type_is_refused(app, browser, tenants, sequences):
    response = browser(CONSULTANT).post("/admin/numbering-sequences/new/", _sequence())
    assert response.status_code == 200
    assert fields_with_errors(response) == {"document_type"}
    assert "CDE" in field_errors(response, "document_type")[0]
    assert _rows(app, NumberingSequence, tenants["ACME"]) == ["CDE", "CDE-LYO"]


def test_a_second_sequence_for_an_establishment_is_refused(app, browser, tenants, sequences):
    response = browser(CONSULTANT).post("/admin/numbering-sequences/new/", _sequence(
        establishment=str(sequences["LYON"])))
    assert response.status_code == 200
    assert "CDE-LYO" in field_errors(response, "document_type")[0]
    assert _rows(app, NumberingSequence, tenants["ACME"]) == ["CDE", "CDE-LYO"]


def test_a_sequence_for_another_establishment_type_or_tenant_is_accepted(app, browser, tenants, sequences):
    b = browser(CONSULTANT)
    assert b.post("/admin/numbering-sequences/new/", _sequence(
        code="CDE-GRE", establishment=str(sequences["GRE"]))).status_code == 302
    assert b.post("/admin/numbering-sequences/new/", _sequence(code="DEV", document_type="quote")).status_code == 302
    assert browser("consultant@beta.test").post("/admin/numbering-sequences/new/", _sequence(code="CDE")).status_code == 302
    assert _rows(app, NumberingSequence, tenants["ACME"]) == ["CDE", "CDE-GRE", "CDE-LYO", "DEV"]
    assert _rows(app, NumberingSequence, tenants["BETA"]) == ["CDE"]


@pytest.mark.parametrize("document_type", ["invoice", "credit_note"])
def test_invoice_and_credit_note_sequences_must_be_gapless(app, browser, tenants, document_type):
    b = browser(CONSULTANT)
    response = b.post("/admin/numbering-sequences/new/", _sequence(document_type=document_type))
    assert response.status_code == 200
    assert fields_with_errors(response) == {"gapless"}
    assert _rows(app, NumberingSequence, tenants["ACME"]) == []
    assert b.post("/admin/numbering-sequences/new/", _sequence(document_type=document_type,
                                                               gapless="y")).status_code == 302
    assert _rows(app, NumberingSequence, tenants["ACME"], gapless=True) == ["NEW"]


def test_next_number_cannot_go_to_or_below_the_highest_number_used(app, browser, tenants):
    with app.app_context():
        sequence = add_row(NumberingSequence, tenants["ACME"], "FAC", document_type="invoice", gapless=True)
        for _ in range(7):
            take_next_number(sequence.id)
        db.session.commit()
        sequence_id = sequence.id
    b = browser(CONSULTANT)
    url = f"/admin/numbering-sequences/edit/?id={sequence_id}"
    form = form_values(b.get(url))
    assert form["next_number"] == "8"
    expected = _in_french(app, numbering_sequence_errors, {
        "document_type": "invoice", "gapless": True, "next_number": 7, "padding": 6,
        "establishment": None}, tenants["ACME"], sequence_id)["next_number"]
    for lowered in ("7", "3"):
        response = b.post(url, {**form, "next_number": lowered, "prefix": "XX"})
        assert response.status_code == 200
        assert fields_with_errors(response) == {"next_number"}
        if lowered == "7":
            assert field_errors(response, "next_number") == [expected]
        row = _get(app, NumberingSequence, sequence_id)
        assert (row.next_number, row.prefix) == (8, "")
    assert b.post(url, {**form, "next_number": "20"}).status_code == 302
    assert _get(app, NumberingSequence, sequence_id).next_number == 20


def test_several_broken_rules_of_a_sequence_are_reported_at_once(app, browser, tenants, sequences):
    response = browser(CONSULTANT).post("/admin/numbering-sequences/new/", _sequence(
        code="CDE", document_type="invoice", next_number="0", padding="30"))
    assert response.status_code == 200
    assert fields_with_errors(response) >= {"code", "gapless", "next_number", "padding"}
    assert _rows(app, NumberingSequence, tenants["ACME"]) == ["CDE", "CDE-LYO"]


# --- VAT rates and codes --------------------------------------------------------------------------

@pytest.mark.parametrize("rate", ["-1", "100.5", "250"])
def test_a_vat_rate_outside_0_to_100_is_refused(app, browser, tenants, rate):
    response = browser(CONSULTANT).post("/admin/vat-rates/new/", {"code": "T", "label": "TVA", "rate": rate})
    assert response.status_code == 200
    assert fields_with_errors(response) == {"rate"}
    assert _rows(app, VatRate, tenants["ACME"]) == []


@pytest.mark.parametrize("rate", ["0", "5.5", "100"])
def test_a_vat_rate_from_0_to_100_is_saved(app, browser, tenants, rate):
    assert browser(CONSULTANT).post("/admin/vat-rates/new/", {"code": "T", "label": "TVA", "rate": rate}).status_code == 302
    with app.app_context():
        assert db.session.query(VatRate.rate).filter_by(code="T").scalar() == Decimal(rate)


def test_a_code_is_unique_in_its_tenant_but_free_in_another(app, browser, tenants):
    with app.app_context():
        unit_id = add_row(Unit, tenants["ACME"], "H", "Heure").id
    b = browser(CONSULTANT)
    response = b.post("/admin/units/new/", {"code": "H", "label": "Encore"})
    assert response.status_code == 200
    assert fields_with_errors(response) == {"code"}
    assert "H" in field_errors(response, "code")[0]
    response = b.post("/admin/units/new/", {"code": "", "label": "Sans code"})
    assert response.status_code == 200 and "code" in fields_with_errors(response)
    # renaming another row onto an existing code is refused too
    with app.app_context():
        other_id = add_row(Unit, tenants["ACME"], "J", "Jour").id
    response = b.post(f"/admin/units/edit/?id={other_id}", {"code": "H", "label": "Jour"})
    assert response.status_code == 200 and fields_with_errors(response) == {"code"}
    assert b.post(f"/admin/units/edit/?id={unit_id}", {"code": "H", "label": "Heure !"}).status_code == 302
    assert browser("consultant@beta.test").post("/admin/units/new/", {"code": "H", "label": "Heure"}).status_code == 302
    assert _rows(app, Unit, tenants["ACME"]) == ["H", "J"]
    assert _rows(app, Unit, tenants["BETA"]) == ["H"]


# --- lists ------------------------------------------------------------------------------------------

@pytest.fixture
def many_codes(app, tenants):
    """25 ACME operation codes: Q01..Q15 quotes (Q odd billable), I01..I10 invoices; and BETA noise."""
    with app.app_context():
        credit_note = add_row(OperationCode, tenants["BETA"], "AV", document_type="credit_note")
        for number in range(1, 16):
            db.session.add(OperationCode(tenant_id=tenants["ACME"], code=f"Q{number:02d}", label=f"Devis chantier {number}",
                                         document_type="quote", billable=number % 2 == 1))
        for number in range(1, 11):
            db.session.add(OperationCode(tenant_id=tenants["ACME"], code=f"I{number:02d}", label=f"Facture client {number}",
                                         document_type="invoice", billable=True))
        for number in range(1, 6):
            db.session.add(OperationCode(tenant_id=tenants["BETA"], code=f"Q9{number}", label="Devis chantier",
                                         document_type="quote", credit_note_operation_code=credit_note))
        db.session.commit()


def _filter(app, endpoint, column, kind, position=0):
    with app.app_context():
        for key, (_index, flt) in admin_view(endpoint)._filter_args.items():
            if type(flt).__name__ == kind and flt.column.key == column:
                return f"flt{position}_{key}"
    raise LookupError((column, kind))


def _sort(app, endpoint, column):
    with app.app_context():
        return [name for name, _label in admin_view(endpoint)._list_columns].index(column)


def test_list_search_finds_codes_by_prefix_and_labels_by_word(app, browser, many_codes):
    b = browser("viewer@acme.test")
    assert sorted(list_cells(b.get("/admin/operation-codes/?search=I0"), "code")) == [f"I{n:02d}" for n in range(1, 10)]
    assert sorted(list_cells(b.get("/admin/operation-codes/?search=facture"), "code")) == [
        f"I{n:02d}" for n in range(1, 11)]
    assert list_cells(b.get("/admin/operation-codes/?search=chantier+12"), "code") == ["Q12"]
    assert list_cells(b.get("/admin/operation-codes/?search=nothing-like-this"), "code") == []


def test_list_filters(app, browser, many_codes):
    b = browser("viewer@acme.test")
    by_type = _filter(app, "operation-codes", "document_type", "FilterEqual")
    page = b.get(f"/admin/operation-codes/?{by_type}=invoice")
    assert sorted(list_cells(page, "code")) == [f"I{n:02d}" for n in range(1, 11)]
    assert list_count(page) == 10
    billable = _filter(app, "operation-codes", "billable", "BooleanEqualFilter", 1)
    page = b.get(f"/admin/operation-codes/?{by_type}=quote&{billable}=1")
    assert sorted(list_cells(page, "code")) == [f"Q{n:02d}" for n in range(1, 16, 2)]
    page = b.get(f"/admin/operation-codes/?{by_type}=quote&{billable}=1&search=chantier+1")
    assert sorted(list_cells(page, "code")) == ["Q01", "Q11", "Q13", "Q15"]


def test_list_sort_and_pagination(app, browser, many_codes):
    b = browser("viewer@acme.test")
    first = b.get("/admin/operation-codes/?page_size=20")
    codes = list_cells(first, "code")
    expected = sorted([f"Q{n:02d}" for n in range(1, 16)] + [f"I{n:02d}" for n in range(1, 11)])
    assert codes == expected[:20]  # default sort: by code
    assert list_count(first) == 25
    assert list_cells(b.get("/admin/operation-codes/?page_size=20&page=1"), "code") == expected[20:]
    by_code = _sort(app, "operation-codes", "code")
    assert list_cells(b.get(f"/admin/operation-codes/?sort={by_code}&desc=1&page_size=20"), "code") == \
        expected[::-1][:20]
    by_label = _sort(app, "operation-codes", "label")
    labels = list_cells(b.get(f"/admin/operation-codes/?sort={by_label}&page_size=50"), "label")
    assert labels == sorted(labels) and len(labels) == 25


# --- French UI (needs the compiled French catalogue) -------------------------------------------------

MO_FILE = Path(__file__).resolve().parents[2] / "translations" / "fr" / "LC_MESSAGES" / "messages.mo"
french_catalogue = pytest.mark.skipif(not MO_FILE.exists(), reason="French catalogue not compiled yet (make translations)")


@french_catalogue
def test_the_refusal_to_delete_names_the_setting_in_french(app, browser, tenants, codes):
    with app.app_context():
        settings = db.session.query(DossierSettings).filter_by(tenant_id=tenants["ACME"]).one()
        settings.operational_order_operation_code_id = codes["DE"]
        db.session.commit()
    with app.test_request_context(), force_locale("fr"):
        label = str(SETTINGS_LABELS["operational_order_operation_code"])
    assert label != "Operational order operation code"  # translated
    b = browser(CONSULTANT)
    b.post("/admin/operation-codes/delete/", {"id": str(codes["DE"])})
    messages = alerts(b.get("/admin/operation-codes/"))
    assert any("paramètres dossier" in message and label in message and "DE" in message for message in messages), \
        messages


@french_catalogue
def test_rule_messages_and_labels_are_in_french(app, browser, tenants, codes):
    response = browser(CONSULTANT).post("/admin/operation-codes/new/", _operation_code())
    page = response.get_data(as_text=True)
    assert "OP pour avoir" in page and "Libellé" in page  # the glossary of the spec
    message = field_errors(response, "credit_note_operation_code")[0]
    assert message != "An invoice or down-payment operation code needs a credit-note operation code."
