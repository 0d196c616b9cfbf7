"""The whole CSV reception in chromium, in French: the banner after login, the
sample files read (*Réceptionner*), an article mapped in place, *Recevoir* and its
report, the delivery notes, then the same files again: every document already
integrated."""
import shutil
import sys
from pathlib import Path

import pytest

from core.extensions import db
from models import DeliveryNote

from tests.conftest import PASSWORD

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "exchange"))
import csv_env  # noqa: E402


@pytest.fixture(autouse=True)
def short_intervals(app):
    saved = {key: app.config[key] for key in ("EXCHANGE_LEASE_SECONDS", "EXCHANGE_HEARTBEAT_SECONDS",
                                              "EXCHANGE_POLL_MS")}
    app.config.update(EXCHANGE_LEASE_SECONDS=1.0, EXCHANGE_HEARTBEAT_SECONDS=0.25, EXCHANGE_POLL_MS=200)
    yield
    app.config.update(saved)


def _drop_samples(app) -> Path:
    folder = Path(app.config["EXCHANGE_ROOT"]) / "partner" / "in"
    folder.mkdir(parents=True, exist_ok=True)
    for sample in csv_env.SAMPLES.iterdir():
        shutil.copy(sample, folder / sample.name)
    return folder


def test_the_sample_files_go_through_the_reception_screen(app, page, tenants, screenshot):
    csv_env.clean_root(app)
    with app.app_context():
        setup = csv_env.dossier(tenants["ACME"])
        connector = csv_env.connector(tenants["ACME"], update_mode="at_login")
        csv_env.map_codes(tenants["ACME"], connector.id, setup["articles"], ("SRV-FRAIS", "LEG-DOC", "MSG-INT"))
        db.session.commit()
        db.session.remove()
    _drop_samples(app)
    page.goto("/login")
    page.fill("input[name=email]", "backoffice@acme.test")
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("form button[type=submit]")
    assert "Connecteur PART : des données sont en attente de réception" in page.inner_text("body")
    with page.expect_navigation():
        page.click("#reception-banner-PART")
    assert "Réception CSV" in page.inner_text("h1")
    with page.expect_navigation():
        page.click("#reception-read")
    screenshot("pending")
    articles = page.inner_text("#reception-articles")
    assert "NOTAIRE" in articles and "Sans correspondance" in articles and "A-SRV-FRAIS — Article SRV-FRAIS" in articles
    documents = page.locator("#reception-documents tbody tr")
    assert documents.count() == 3
    assert page.get_attribute('[data-reference="F259033_D260115"]', "data-status") == "unmapped"
    assert "Articles sans correspondance" in page.inner_text('[data-reference="F259033_D260115"]')
    assert "71,88" in page.inner_text('[data-reference="F259030_D260118"]')
    parties = page.inner_text("#reception-parties")
    assert "Études Martin & Fils" in parties and "Cébéo Distribution" in parties and "Nouveau" in parties
    assert page.inner_text("#reception-warning") == (
        "Les documents contenant des articles sans correspondance ne seront pas intégrés.")
    page.fill('input[name="map-NOTAIRE"]', "A-NOTAIRE")
    with page.expect_navigation():
        page.click("#reception-save-mappings")
    assert "1 correspondance enregistrée." in page.inner_text("body")
    assert page.locator('#reception-documents [data-status="new"]').count() == 3
    with page.expect_navigation():
        page.click("#reception-receive-button")
    page.wait_for_selector("#run-status")
    assert "Succès" in page.inner_text("#run-status")
    items = page.inner_text("#report-items")
    assert "Client créé." in items and "créé en brouillon" in items
    screenshot("report")
    page.goto("/admin/delivery-notes/")
    body = page.inner_text("body")
    assert "BL00001" in body and "BL00003" in body
    with app.app_context():
        assert db.session.query(DeliveryNote).count() == 3
    # the same files again change nothing
    _drop_samples(app)
    page.goto("/admin/csv-reception/?connector=PART")
    with page.expect_navigation():
        page.click("#reception-read")
    assert page.locator('#reception-documents [data-status="already_integrated"]').count() == 3
    assert "Déjà intégré" in page.inner_text("#reception-documents")
    with page.expect_navigation():
        page.click("#reception-receive-button")
    page.wait_for_selector("#run-status")
    assert "Déjà intégré." in page.inner_text("#report-items")
    with app.app_context():
        assert db.session.query(DeliveryNote).count() == 3
