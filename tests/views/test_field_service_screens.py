"""The field-service connector on its screens: its form in French (settings validated
next to their fields), *Tester la connexion* failing with a French message (never a
500), *Actualiser les données* refused with a message when it cannot run."""
from html import unescape

from core.extensions import db
from models.exchange import Connector

SECRET = "Cle-Terrain-Ecran-77"


def _form(**overrides):
    values = {"code": "FS", "label": "Terrain", "enabled": "y", "base_url": "http://127.0.0.1:9",
              "api_key": SECRET, "batch_size": "500", "receive_schedule": "", "send_schedule": "",
              "zero_value_policy": "skip_with_warning"}
    values.update(overrides)
    return values


def test_the_form_checks_its_settings_in_french_then_saves_with_the_key_masked(app, browser, tenants):
    b = browser("consultant@acme.test")
    page = unescape(b.get("/admin/connectors/new/?kind=field_service").get_data(as_text=True))
    for label in ("URL de base", "Taille des lots", "Joindre le rapport d'intervention (PDF)",
                  "Interventions à valeur nulle", "Ignorer avec un avertissement"):
        assert label in page
    for wrong, message in ((_form(batch_size="0"), "Indiquez un nombre supérieur ou égal à 1."),
                           (_form(base_url="ftp://x"),
                            "Indiquez l'URL de base de l'application (http:// ou https://).")):
        refused = b.post("/admin/connectors/new/?kind=field_service", wrong)
        assert refused.status_code == 200 and message in unescape(refused.get_data(as_text=True))
    saved = b.post("/admin/connectors/new/?kind=field_service", _form())
    assert saved.status_code == 302
    details = unescape(b.get(saved.headers["Location"]).get_data(as_text=True))
    assert SECRET not in details
    assert "Tester la connexion" in details and "Actualiser les données" in details
    with app.app_context():
        connector = db.session.query(Connector).filter_by(code="FS").one()
        assert connector.settings["batch_size"] == 500 and connector.settings["attach_report"] is False


def test_test_connection_and_refresh_answer_in_french_when_they_cannot(app, browser, tenants):
    b = browser("backoffice@acme.test")
    consultant = browser("consultant@acme.test")
    assert consultant.post("/admin/connectors/new/?kind=field_service", _form()).status_code == 302
    with app.app_context():
        connector_id = db.session.query(Connector.id).filter_by(code="FS").scalar()
    response = b.post("/admin/connectors/test-connection/", {"id": connector_id}, follow_redirects=True)
    assert response.status_code == 200
    assert "Échec de la connexion : L'application est injoignable" in unescape(response.get_data(as_text=True))
    assert consultant.post(f"/admin/connectors/edit/?id={connector_id}", _form(enabled="")).status_code == 302
    refused = b.post("/admin/connectors/refresh/", {"id": connector_id}, follow_redirects=True)
    assert refused.status_code == 200
    assert "désactivé" in unescape(refused.get_data(as_text=True))
    assert b.post("/admin/connectors/test-connection/", {"id": "999999"}).status_code in (302, 404)
