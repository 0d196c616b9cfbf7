"""A back-office user refreshes a field-service connector in chromium, in French:
*Tester la connexion*, then *Actualiser les données*: the send's report with live
progress, followed by the receive's, which lists the integrated and refused
interventions; against the reference peer as a real process."""
import pytest

from core.extensions import db
from models import Invoice
from tests.conftest import PASSWORD
from tests.exchange.fs_peer import PeerProcess, dossier, intervention, make_fs_connector, map_article


@pytest.fixture(autouse=True)
def short_intervals(app):
    saved = {key: app.config[key] for key in ("EXCHANGE_LEASE_SECONDS", "EXCHANGE_HEARTBEAT_SECONDS",
                                              "EXCHANGE_POLL_MS")}
    app.config.update(EXCHANGE_LEASE_SECONDS=2.0, EXCHANGE_HEARTBEAT_SECONDS=0.25, EXCHANGE_POLL_MS=200)
    yield
    app.config.update(saved)


@pytest.fixture
def peer(app):
    process = PeerProcess(app)
    yield process
    process.stop()


def test_refresh_the_data_sends_then_receives_with_live_reports_in_french(app, page, tenants, peer, screenshot):
    with app.app_context():
        dossier(tenants["ACME"])
        db.session.commit()
        connector_id = make_fs_connector(tenants["ACME"], peer.url)
        map_article(tenants["ACME"], connector_id, "CABLE", "CAB-3G25")
    peer.interventions([intervention("INT-000123"), intervention("INT-000124", status="COMPLETED"),
                        intervention("INT-000126", lines=[{"itemId": "INCONNU", "label": "?", "quantity": 1,
                                                           "unitPrice": 5}])])
    page.goto("/login")
    page.fill("input[name=email]", "backoffice@acme.test")
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("form button[type=submit]")
    page.goto(f"/admin/connectors/details/?id={connector_id}")
    with page.expect_navigation():
        page.click("#connector-test")
    assert "Connexion réussie : l'application d'interventions a répondu." in page.inner_text("body")
    assert "Actualiser les données" in page.inner_text("#connector-refresh")
    screenshot("connector")

    peer.control(hold=True, only="/v1/items")  # the send waits on its last endpoint until released
    with page.expect_navigation():
        page.click("#connector-refresh")
    assert "Envoi" in page.inner_text("#run-report h1")
    assert "la réception suit l'envoi" in page.inner_text("#run-follow")
    page.wait_for_function("document.getElementById('run-progress-text').textContent.includes('En cours')")
    screenshot("send-progress")
    peer.control(hold=False)
    # the send's report, then the receive's: the page follows by itself
    page.wait_for_function("document.querySelector('#run-report h1') && "
                           "document.querySelector('#run-report h1').textContent.includes('Réception')")
    page.wait_for_selector("#run-status")
    screenshot("receive-report")
    status = page.inner_text("#run-status")
    assert "Partiel" in status
    items = page.inner_text("#report-items")
    assert "INT-000123" in items and "INT-000124" not in items
    assert "intervention INT-000126 non intégrée : article INCONNU inconnu" in items
    with app.app_context():
        assert db.session.query(Invoice).filter_by(external_reference="INT-000123").count() == 1
    got = peer.received()["received"]
    assert sorted(c["externalId"] for c in got["customers"]) == ["C001", "C002"]
