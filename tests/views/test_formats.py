"""Format checks of ``rules.formats``: what a person types wrong is refused with a message,
foreign clients keep their own formats, and the row rules of screens and imports run them."""
import pytest

from models import Client, Establishment, Site, Supplier
from rules.formats import (
    email_error, format_errors, iban_error, phone_error, postcode_error, siren_error, siret_error, vat_number_error,
)
from rules.parameters import ROW_RULES


@pytest.fixture
def french(app):
    with app.test_request_context():
        yield


@pytest.mark.parametrize("check, good, bad", [
    (email_error, "compta@dupont-batiment.fr", "pas-un-email"),
    (phone_error, "01 23 45 67 89", "123"),
    (phone_error, "+32 2 123 45 67", "01 23"),
    (siren_error, "732 829 320", "732829321"),
    (siret_error, "73282932000074", "73282932000075"),
    (vat_number_error, "FR40303265045", "FR00000000000"),
    (vat_number_error, "BE0403170701", "BE123"),
    (iban_error, "FR14 2004 1010 0505 0001 3M02 606", "FR14 2004 1010 0505 0001 3M02 607"),
])
def test_a_right_value_passes_and_a_wrong_one_is_explained(french, check, good, bad):
    assert check(good) is None and check("") is None and check(None) is None
    message = check(bad)
    assert bad in message and ("ex." in message or "saisissez" in message), message


def test_postcodes_follow_the_country(french):
    assert postcode_error("75011", None) is None and postcode_error("75011", "France") is None
    assert "5 chiffres" in postcode_error("ABCDEFGHIJ", "France")
    assert "5 chiffres" in postcode_error("7501", "")
    assert postcode_error("1000", "Belgique") is None  # a Belgian client is normal
    assert "4 chiffres" in postcode_error("10000", "Belgique")
    assert postcode_error("SW1A 1AA", "Royaume-Uni") is None
    assert postcode_error("!!", "Royaume-Uni") is not None


def test_a_site_postcode_follows_its_client_country(french):
    belgian = Client(code="C1", name="Bruxelles Bâtiment", country="Belgique")
    assert format_errors({"postcode": "1000", "client": belgian}) == {}
    assert "postcode" in format_errors({"postcode": "1000", "client": Client(code="C2", name="X", country="")})


def test_the_row_rules_of_screens_and_imports_run_the_format_checks(french):
    for model in (Client, Supplier, Site, Establishment):
        errors = ROW_RULES[model]({"email": "pas-un-email", "postcode": "ABCDEFGHIJ"}, 1, None)
        assert "postcode" in errors, model
    errors = ROW_RULES[Client]({"email": "pas-un-email", "postcode": "75011", "country": "France",
                                 "phone": "01 23 45 67 89", "vat_number": "FR40303265045"}, 1, None)
    assert list(errors) == ["email"] and "nom@entreprise.fr" in errors["email"]


def test_the_client_form_shows_the_format_error_next_to_the_field_and_saves_nothing(app, browser, tenants):
    b = browser("backoffice@acme.test")
    response = b.post("/admin/clients/new/", {"code": "C0001", "name": "Dupont", "email": "pas-un-email",
                                              "postcode": "ABCDEFGHIJ", "country": "France"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "n&#39;est pas une adresse e-mail" in page and "n&#39;est pas un code postal français" in page
    assert "Rien n&#39;a été créé : corrigez les champs signalés en rouge." in page
    response = b.post("/admin/clients/new/", {"code": "C0002", "name": "Bruxelles Bâtiment", "postcode": "1000",
                                              "country": "Belgique", "email": "info@bxl.be"})
    assert response.status_code == 302
    with app.app_context():
        assert [c.code for c in Client.query.all()] == ["C0002"]


def test_identification_numbers_are_checked_in_the_client_form_and_saved_compact(app, browser, tenants):
    b = browser("backoffice@acme.test")
    page = b.post("/admin/clients/new/", {"code": "C0001", "name": "Dupont", "siret": "73282932000075",
                                          "vat_number": "FR00000000000"}).get_data(as_text=True)
    assert "n&#39;est pas un numéro SIRET" in page and "n&#39;est pas un numéro de TVA intracommunautaire" in page
    response = b.post("/admin/clients/new/", {"code": "C0002", "name": "Dupont", "siret": "732 829 320 00074",
                                              "vat_number": "fr 40 303 265 045"})
    assert response.status_code == 302
    with app.app_context():
        assert [(c.code, c.siret, c.vat_number) for c in Client.query.all()] == [
            ("C0002", "73282932000074", "FR40303265045")]


def test_the_client_import_refuses_a_wrong_siret(app, browser, tenants):
    import io
    b = browser("backoffice@acme.test")
    data = "code;name;siret\nC0001;Dupont;73282932000075\n".encode()
    page = b.post("/admin/clients/import/", {"file": (io.BytesIO(data), "clients.csv")},
                  content_type="multipart/form-data").get_data(as_text=True)
    assert "n&#39;est pas un numéro SIRET" in page
    with app.app_context():
        assert Client.query.count() == 0


def test_the_company_identity_of_the_dossier_settings_is_checked(app, french):
    from rules.settings import dossier_settings_errors
    errors = dossier_settings_errors({"siren": "732829321", "iban": "FR14 2004 1010 0505 0001 3M02 607",
                                      "vat_number": "FR40303265045"}, 1)
    assert {"siren", "iban"} <= set(errors) and "vat_number" not in errors
    assert "SIREN" in errors["siren"] and "IBAN" in errors["iban"]
