"""A consultant creates a connector and runs it in chromium, in French: the kind, its
settings (a refused folder shown next to its field), *Lancer maintenant* with live
progress replaced by the report without a page reload, the report filtered by state,
then the run history."""
from pathlib import Path

import pytest

from core.extensions import db
from models.exchange import Connector

from tests.conftest import PASSWORD


@pytest.fixture(autouse=True)
def short_intervals(app):
    saved = {key: app.config[key] for key in ("EXCHANGE_LEASE_SECONDS", "EXCHANGE_HEARTBEAT_SECONDS",
                                              "EXCHANGE_POLL_MS")}
    app.config.update(EXCHANGE_LEASE_SECONDS=1.0, EXCHANGE_HEARTBEAT_SECONDS=0.25, EXCHANGE_POLL_MS=200)
    yield
    app.config.update(saved)


def log_in(page, email: str) -> None:
    page.goto("/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("form button[type=submit]")


def test_a_connector_is_created_run_and_read_back_in_french(app, page, tenants, screenshot):
    hold = Path(app.config["EXCHANGE_ROOT"]) / "hold-e2e"
    hold.parent.mkdir(parents=True, exist_ok=True)
    hold.write_text("hold")
    log_in(page, "consultant@acme.test")
    page.goto("/admin/connectors/")
    assert "Échanges" in page.inner_text("nav")
    page.goto("/admin/connectors/new/")
    with page.expect_navigation():
        page.click("#connector-kinds a[href*=\"kind=test\"]")  # the test kind (the CSV exchange is listed too)
    page.fill("input#code", "E2E")
    page.fill("input#label", "Connecteur navigateur")
    page.fill("input#import_folder", "../dehors")
    page.fill("input#export_folder", "e2e/out")
    page.fill("input#api_key", "cle-secrete-e2e")
    page.fill("input#documents", "4")
    page.fill("input#fail", "E2E-003")
    page.fill("input#hold_file", "hold-e2e")
    page.fill("input#hold_after", "1")
    with page.expect_navigation():
        page.click("#connector-save")
    assert "ne peut pas contenir" in page.inner_text('[data-field="import_folder"]')
    screenshot("refused-folder")
    page.fill("input#import_folder", "e2e/in")
    page.fill("input#api_key", "cle-secrete-e2e")
    with page.expect_navigation():
        page.click("#connector-save")
    assert "Connecteur E2E enregistré" in page.inner_text("body")
    assert "cle-secrete-e2e" not in page.content()

    with page.expect_navigation():
        page.click("#run-receive")
    page.wait_for_selector("#run-progress")
    assert "En cours" in page.inner_text("#run-progress-text")
    page.wait_for_function("document.getElementById('run-progress-text').textContent.includes('1 / 4')")
    screenshot("progress")
    page.evaluate("window.__noReload = true")
    hold.unlink()
    page.wait_for_selector("#run-status")
    assert page.evaluate("window.__noReload") is True  # the report replaced the progress in place
    assert "Partiel" in page.inner_text("#run-status")
    assert "Client E2E-003 : pas de ville." in page.inner_text("#report-items")
    screenshot("report")

    page.select_option("#report-state", "error")
    with page.expect_navigation():
        page.click("#report-filter")
    rows = page.locator("#report-items tbody tr")
    assert rows.count() == 1 and "Erreur" in rows.first.inner_text()
    assert "Relancer les éléments en erreur" in page.inner_text("#run-retry")

    page.goto("/admin/sync-runs/")
    body = page.inner_text("body")
    assert "Historique des exécutions" in body and "Réception" in body and "Manuel" in body
    screenshot("history")
    with app.app_context():
        assert db.session.query(Connector).filter_by(code="E2E").one().import_folder == "e2e/in"
