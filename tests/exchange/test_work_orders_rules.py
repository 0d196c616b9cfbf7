"""Matching and pricing of a work order (exchanges.md Kind 3): each rule and its
fallback, each line's price, through the webhook as the application posts them."""
from decimal import Decimal

import pytest
from sqlalchemy import select

from core.extensions import db
from exchange.base import save_connector
from exchange.work_orders.drafts import country_of, fold, name_key, person_key
from models import Client, Connector, DossierSettings, Employee, Invoice, NumberingSequence, SyncRunItem

from work_orders_env import add_client, post, set_up_dossier, work_order


@pytest.fixture
def acme(app, tenants):
    with app.app_context():
        set_up_dossier(tenants["ACME"])
    return tenants["ACME"]


@pytest.fixture
def client(app):
    return app.test_client()


def _delivered(app, client, document):
    response = post(client, document)
    assert response.status_code == 201, response.get_json()
    with app.app_context():
        invoice = db.session.get(Invoice, response.get_json()["invoice_id"])
        item = db.session.scalars(select(SyncRunItem).order_by(SyncRunItem.id.desc())).first()
        lines = [(l.article.code, l.kind, l.quantity, l.unit_price, l.amount) for l in invoice.lines]
        return invoice.client.code, lines, (item.state, item.message)


def _errors(client, document):
    response = post(client, document)
    assert response.status_code == 422, response.get_json()
    return {e["field"]: e["message"] for e in response.get_json()["errors"]}


def test_folding_rules():
    assert name_key("  Boulangerie   DUPRE ") == name_key("boulangerie dupré") == name_key("BoulangerieDupré")
    assert person_key("Dubois  Léa") == person_key("LÉA dubois") and person_key("Léa Dubois") != person_key("Léa")
    assert fold("Œuvre Ça") == "uvre ca" or fold("Œuvre Ça").endswith("ca")
    assert (country_of("BE0123456749"), country_of("be 0123"), country_of(""), country_of("12345")) == \
        ("BE", "BE", "FR", "FR")
    assert country_of("EL123456789") == "GR"


# --- the client -----------------------------------------------------------------------------------------

def test_client_by_vat_number_first(app, acme, client):
    add_client(app, acme, "C200", "Autre nom", email="autre@x.example", vat_number="BE 0123.456.749")
    add_client(app, acme, "C100", "Boulangerie Dupré", email="contact@dupre.example")  # name and e-mail lose
    code, _lines, (state, _message) = _delivered(app, client, work_order())
    assert (code, state) == ("C200", "ok")


def test_a_deactivated_client_is_never_matched(app, acme, client):
    add_client(app, acme, "C001", "Boulangerie Dupré", vat_number="BE0123456749", deactivated=True)
    add_client(app, acme, "C002", "Nom différent", email="CONTACT@dupre.example")
    code, _lines, _item = _delivered(app, client, work_order())
    assert code == "C002"  # by e-mail, ignoring case, the VAT holder being deactivated


def test_client_by_name_ignoring_case_accents_and_spacing(app, acme, client):
    add_client(app, acme, "C010", "BOULANGERIE  DUPRE")
    add_client(app, acme, "C011", "Boulangerie Durand")
    code, _lines, _item = _delivered(app, client, work_order())
    assert code == "C010"


def test_several_clients_at_one_level_take_the_lowest_code_with_a_warning(app, acme, client):
    add_client(app, acme, "C300", "Dupré un", email="contact@dupre.example")
    add_client(app, acme, "C030", "Dupré deux", email="contact@dupre.example")
    code, _lines, (state, message) = _delivered(app, client, work_order())
    assert (code, state) == ("C030", "warning")
    assert "C030" in message and "C300" in message


def test_a_new_client_takes_the_code_of_the_client_sequence_when_there_is_one(app, acme, client):
    with app.app_context():
        db.session.add(NumberingSequence(tenant_id=acme, code="CLI", label="Clients", document_type="client",
                                         prefix="CL", padding=4, next_number=42))
        db.session.commit()
    code, _lines, (state, message) = _delivered(app, client, work_order())
    assert code == "CL0042" and state == "ok" and "CL0042" in message


def test_a_new_client_without_vat_number_is_french_and_numbered_after_the_connector(app, acme, client):
    add_client(app, acme, "WO-007", "Déjà là")
    document = work_order()
    document["customer"].update(vatNumber="", email="", name="Martin SA", postcode="75011", city="Paris")
    code, _lines, _item = _delivered(app, client, document)
    with app.app_context():
        created = db.session.scalars(select(Client).where(Client.code == code)).one()
        assert (created.code, created.country, created.name, created.city) == ("WO-008", "FR", "Martin SA", "Paris")


def test_an_invalid_vat_number_is_refused(acme, client):
    document = work_order()
    document["customer"]["vatNumber"] = "BE0000000001"
    assert "customer.vatNumber" in _errors(client, document)


# --- employees and labour ---------------------------------------------------------------------------------

def test_employee_by_e_mail_before_name(app, acme, client):
    with app.app_context():
        db.session.add(Employee(tenant_id=acme, code="E00", first_name="Karim", last_name="Benali", email="",
                                billable_hourly_rate=Decimal("99")))  # same name, lower code: the e-mail wins
        db.session.commit()
    _code, lines, _item = _delivered(app, client, work_order())
    assert lines[2] == ("MO", "labour", Decimal("2.5"), Decimal("55.00"), Decimal("137.50"))


def test_employee_by_full_name_in_any_word_order(app, acme, client):
    document = work_order()
    document["users"] = [{"fullName": "DUBOIS léa", "email": "", "hours": 2}]
    _code, lines, _item = _delivered(app, client, document)
    labour = [line for line in lines if line[1] == "labour"]
    assert labour == [("MO", "labour", Decimal("2"), Decimal("48.00"), Decimal("96.00"))]


def test_an_employee_without_billable_rate_is_refused(app, acme, client):
    with app.app_context():
        employee = db.session.scalars(select(Employee).where(Employee.code == "E02")).one()
        employee.billable_hourly_rate = None
        db.session.commit()
    errors = _errors(client, work_order())
    assert list(errors) == ["users[1]"] and "E02" in errors["users[1]"]


def test_an_unknown_employee_is_refused(acme, client):
    document = work_order()
    document["users"][0] = {"fullName": "Jean Nouveau", "email": "jean@installateur.example", "hours": 1}
    errors = _errors(client, document)
    assert list(errors) == ["users[0]"] and "Jean Nouveau" in errors["users[0]"]


# --- products --------------------------------------------------------------------------------------------

def test_products_at_the_sale_price(app, acme, client):
    _code, lines, _item = _delivered(app, client, work_order())
    assert lines[:2] == [("FILT-G4", "supply", Decimal("2"), Decimal("12.50"), Decimal("25.00")),
                         ("GAZ-R32-1KG", "supply", Decimal("1.5"), Decimal("40.00"), Decimal("60.00"))]


def test_an_unknown_product_or_one_without_sale_price_is_refused(app, acme, client):
    errors = _errors(client, work_order(products=[{"code": "INCONNU", "quantity": 1}, {"code": "KM2", "quantity": 1},
                                                  {"code": "FILT-G4", "quantity": 1}]))
    assert set(errors) == {"products[0]", "products[1]"}
    assert "INCONNU" in errors["products[0]"] and "KM2" in errors["products[1]"]


def test_an_inactive_article_is_an_unknown_product(app, acme, client):
    from models import Article
    with app.app_context():
        db.session.scalars(select(Article).where(Article.code == "FILT-G4")).one().active = False
        db.session.commit()
    assert set(_errors(client, work_order())) == {"products[0]"}


# --- mileage -----------------------------------------------------------------------------------------------

def _dossier_settings(tenant_id):
    return db.session.scalars(select(DossierSettings).where(DossierSettings.tenant_id == tenant_id)).one()


def _set(app, tenant_id, **settings):
    with app.app_context():
        connector = db.session.scalars(select(Connector).where(Connector.tenant_id == tenant_id)).one()
        raw = {**{k: str(v) for k, v in (connector.settings or {}).items() if v is not None}, **settings}
        _saved, errors = save_connector(tenant_id, "work_orders", connector.code, connector.label, True, raw,
                                        connector)
        assert not errors, errors
        db.session.commit()


def test_mileage_at_the_connector_rate_on_the_connector_article(app, acme, client):
    _code, lines, _item = _delivered(app, client, work_order())
    assert lines[-1] == ("KM", "travel", Decimal("38"), Decimal("0.45"), Decimal("17.10"))


def test_the_dossier_mileage_article_when_the_connector_has_none(app, acme, client):
    _set(app, acme, mileage_article="", mileage_rate="")
    with app.app_context():
        _dossier_settings(acme).mileage_article_reference = "KM"
        db.session.commit()
    _code, lines, _item = _delivered(app, client, work_order())
    assert lines[-1] == ("KM", "travel", Decimal("38"), Decimal("0.50"), Decimal("19.00"))  # its sale price


def test_the_connector_mileage_article_wins_over_the_dossier(app, acme, client):
    _set(app, acme, mileage_article="KM2", mileage_rate="0.3")
    with app.app_context():
        _dossier_settings(acme).mileage_article_reference = "KM"
        db.session.commit()
    _code, lines, _item = _delivered(app, client, work_order())
    assert lines[-1] == ("KM2", "travel", Decimal("38"), Decimal("0.30"), Decimal("11.40"))


def test_no_mileage_line_when_km_is_zero(app, acme, client):
    _code, lines, _item = _delivered(app, client, work_order(km=0))
    assert [l for l in lines if l[1] == "travel"] == []


def test_mileage_without_any_article_or_rate_is_refused(app, acme, client):
    _set(app, acme, mileage_article="", mileage_rate="")
    assert "km" in _errors(client, work_order())
    _set(app, acme, mileage_article="KM2", mileage_rate="")  # KM2 has no sale price
    assert "km" in _errors(client, work_order())


# --- the connector's settings ----------------------------------------------------------------------------

def test_settings_are_checked_against_the_dossier(app, acme):
    with app.app_context():
        _none, errors = save_connector(acme, "work_orders", "WO2", "", True, {
            "base_url": "ftp://x", "inbound_token": "t", "labour_article": "NOPE", "mileage_article": "KM?",
            "mileage_rate": "abc", "product_filter": ""})
        assert set(errors) == {"mileage_rate"}  # typed values first, then the cross-field and dossier rules
        _none, errors = save_connector(acme, "work_orders", "WO2", "", True, {
            "base_url": "ftp://x", "inbound_token": "t", "labour_article": "MO", "send_schedule": "sometimes"})
        assert set(errors) == {"send_schedule"}  # a schedule is a typed value: checked before the cross-field rules
        _none, errors = save_connector(acme, "work_orders", "WO2", "", True, {
            "base_url": "http://x", "inbound_token": "t", "labour_article": "NOPE", "mileage_article": "KM?",
            "product_filter": "FAM1"})
        assert set(errors) == {"labour_article", "mileage_article", "product_filter"}
        _none, errors = save_connector(acme, "work_orders", "WO2", "", True, {"base_url": "http://x"})
        assert set(errors) == {"inbound_token", "labour_article"}
        saved, errors = save_connector(acme, "work_orders", "WO2", "", True, {
            "base_url": "http://x", "inbound_token": "very-secret-token", "labour_article": "mo",
            "mileage_rate": "0,455"})
        assert not errors and saved.settings["mileage_rate"] == "0.455"
        assert "very-secret-token" not in str(saved.settings) + str(saved.secrets)  # encrypted, apart


def test_a_number_already_invoiced_from_another_id_is_refused(app, acme, client):
    assert post(client, work_order()).status_code == 201
    errors = _errors(client, work_order(id="another-id"))
    assert "number" in errors


def test_a_consultant_creates_the_connector_on_its_screen(app, acme):
    from rules.tenancy import create_user
    from models import Tenant
    from tests.conftest import Browser, PASSWORD
    with app.app_context():
        create_user("consultant@acme.test", PASSWORD, [(db.session.get(Tenant, acme), "consultant")])
        db.session.commit()
    b = Browser(app.test_client())
    assert b.login("consultant@acme.test").status_code == 302
    form = b.get("/admin/connectors/new/?kind=work_orders").get_data(as_text=True)
    assert "Jeton entrant" in form and "Tarif kilométrique" in form and "Article de main-d'œuvre" in form
    fields = {"code": "BT2", "label": "Bons", "enabled": "y", "base_url": "https://app.example/api",
              "api_key": "k-123", "inbound_token": "inbound-456", "signing_secret": "sign-789",
              "mileage_rate": "0,52", "mileage_article": "NOPE", "labour_article": "MO", "product_filter": "",
              "send_schedule": "every:60"}
    refused = b.post("/admin/connectors/new/?kind=work_orders", fields).get_data(as_text=True)
    assert 'data-field="mileage_article"' in refused and "NOPE" in refused
    fields["mileage_article"] = "KM"
    created = b.post("/admin/connectors/new/?kind=work_orders", fields)
    assert created.status_code == 302
    details = b.get(created.headers["Location"]).get_data(as_text=True)
    for secret in ("k-123", "inbound-456", "sign-789"):
        assert secret not in details
    with app.app_context():
        connector = db.session.scalars(select(Connector).where(Connector.code == "BT2")).one()
        assert connector.settings["mileage_rate"] == "0.52"
