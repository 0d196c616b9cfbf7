"""Connector and run screens: roles, settings validated next to their fields, secrets
masked everywhere, run now with progress polling, history filters, the report and its
export, retry, purge, tenant isolation."""
import io
import logging
import time

import pytest
from openpyxl import load_workbook

from core.extensions import db
from models import AuditLogEntry
from models.exchange import Connector, SyncRun

SECRET = "Top-Secret-Key-9431"
WAIT_SECONDS = 60  # an upper bound for a loaded machine, never a measured duration


@pytest.fixture(autouse=True)
def short_intervals(app):
    saved = {key: app.config[key] for key in ("EXCHANGE_LEASE_SECONDS", "EXCHANGE_HEARTBEAT_SECONDS",
                                              "EXCHANGE_POLL_MS")}
    app.config.update(EXCHANGE_LEASE_SECONDS=1.0, EXCHANGE_HEARTBEAT_SECONDS=0.25, EXCHANGE_POLL_MS=200)
    yield
    app.config.update(saved)


def _settings(**overrides):
    values = {"code": "TST", "label": "Connecteur de test", "enabled": "y", "import_folder": "acme/in",
              "export_folder": "acme/out", "api_key": SECRET, "documents": "3", "fail": "TST-002", "warn": "",
              "delay_ms": "0", "hold_file": "", "hold_after": "0"}
    values.update(overrides)
    return values


def _create(b, **overrides):
    return b.post("/admin/connectors/new/?kind=test", _settings(**overrides))


def _connector(app, code="TST"):
    with app.app_context():
        return db.session.query(Connector).filter_by(code=code).one().id


def _wait_finished(b, run_id):
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        progress = b.get(f"/admin/sync-runs/progress/?id={run_id}").get_json()
        if progress["status"] != "running":
            return progress
        time.sleep(0.1)
    raise AssertionError("the run did not finish")


def _run(b, connector_id, direction="receive", dry_run="0"):
    response = b.post("/admin/connectors/run/", {"id": connector_id, "direction": direction, "dry_run": dry_run})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    run_id = int(response.headers["Location"].rsplit("id=", 1)[1])
    return run_id, _wait_finished(b, run_id)


def test_a_consultant_creates_a_connector_in_two_steps(app, browser, tenants):
    b = browser("consultant@acme.test")
    kinds = b.get("/admin/connectors/new/").get_data(as_text=True)
    assert "kind=test" in kinds
    response = _create(b)
    assert response.status_code == 302
    details = b.get(response.headers["Location"]).get_data(as_text=True)
    assert "TST" in details and "Lancer maintenant" in details and "Purger" in details


def test_settings_are_validated_next_to_their_fields(app, browser, tenants):
    b = browser("consultant@acme.test")
    page = _create(b, export_folder="../../etc", documents="beaucoup", code="").get_data(as_text=True)
    assert 'data-field="export_folder"' in page and 'data-field="documents"' in page
    assert "« .. »" in page or "“..”" in page or ".." in page
    with app.app_context():
        assert db.session.query(Connector).count() == 0


def test_secrets_are_masked_in_forms_and_absent_from_html_exports_audit_and_logs(app, browser, tenants, caplog):
    caplog.set_level(logging.DEBUG)
    b = browser("consultant@acme.test")
    _create(b)
    connector_id = _connector(app)
    edit = b.get(f"/admin/connectors/edit/?id={connector_id}").get_data(as_text=True)
    assert SECRET not in edit and "••••••" in edit
    assert SECRET not in b.get(f"/admin/connectors/details/?id={connector_id}").get_data(as_text=True)
    assert SECRET not in b.get("/admin/connectors/").get_data(as_text=True)
    export = b.get("/admin/connectors/export/xlsx/")
    assert export.status_code == 200
    cells = [str(c.value) for row in load_workbook(io.BytesIO(export.data)).active.iter_rows() for c in row]
    assert "TST" in cells and not any(SECRET in cell for cell in cells)
    run_id, _ = _run(b, connector_id)
    assert SECRET not in b.get(f"/admin/sync-runs/details/?id={run_id}").get_data(as_text=True)
    with app.app_context():
        audit = [e.new_value or "" for e in db.session.query(AuditLogEntry)]
        assert not any(SECRET in value for value in audit)
    assert SECRET not in caplog.text
    # an edit that leaves the secret empty keeps it
    b.post(f"/admin/connectors/edit/?id={connector_id}", _settings(api_key="", label="Renommé"))
    with app.app_context():
        from exchange.base import connector_secrets
        assert connector_secrets(db.session.get(Connector, connector_id)) == {"api_key": SECRET}


def test_run_now_polls_its_progress_then_shows_the_report_in_french(app, browser, tenants):
    b = browser("consultant@acme.test")
    _create(b)
    c = browser("backoffice@acme.test")
    run_id, progress = _run(c, _connector(app))
    assert progress["status"] == "partial" and progress["processed"] == 3
    assert progress["counts"] == {"ok": 2, "skipped": 0, "warning": 0, "error": 1}
    report = c.get(f"/admin/sync-runs/details/?id={run_id}").get_data(as_text=True)
    assert "Partiel" in report and "Client TST-002" in report and "Relancer les éléments en erreur" in report
    errors_only = c.get(f"/admin/sync-runs/details/?id={run_id}&state=error").get_data(as_text=True)
    assert "TST-002" in errors_only and "TST-001" not in errors_only
    export = c.get(f"/admin/sync-runs/items/export/?id={run_id}")
    rows = list(load_workbook(io.BytesIO(export.data)).active.iter_rows(values_only=True))
    assert rows[0] == ("Fichier ou lot", "Type", "Identifiant", "État", "Message")
    assert ("", "Client", "TST-002", "Erreur", "Client TST-002: no city.") in rows or len(rows) == 4


def test_retry_of_failed_items_from_the_report_is_a_new_linked_run(app, browser, tenants):
    b = browser("consultant@acme.test")
    _create(b)
    connector_id = _connector(app)
    first_id, _ = _run(b, connector_id)
    b.post(f"/admin/connectors/edit/?id={connector_id}", _settings(fail=""))
    response = b.post("/admin/sync-runs/retry/", {"id": first_id})
    retry_id = int(response.headers["Location"].rsplit("id=", 1)[1])
    progress = _wait_finished(b, retry_id)
    assert progress["status"] == "success" and progress["processed"] == 1
    with app.app_context():
        assert db.session.get(SyncRun, retry_id).retry_of_id == first_id


def test_a_second_manual_run_while_one_runs_is_refused_with_a_message(app, browser, tenants):
    b = browser("consultant@acme.test")
    _create(b)
    connector_id = _connector(app)
    with app.app_context():
        from exchange import runs
        runs.start(db.session.get(Connector, connector_id), "receive")
    response = b.post("/admin/connectors/run/", {"id": connector_id, "direction": "receive", "dry_run": "0"},
                      follow_redirects=True)
    assert "déjà en cours" in response.get_data(as_text=True)


def test_history_filters_by_connector_direction_status_and_trigger(app, browser, tenants):
    b = browser("consultant@acme.test")
    _create(b)
    _create(b, code="AUTRE", import_folder="autre/in", export_folder="autre/out", fail="")
    tst, other = _connector(app), _connector(app, "AUTRE")
    _run(b, tst)
    _run(b, other, "send", dry_run="1")
    listing = b.get("/admin/sync-runs/").get_data(as_text=True)
    assert "TST" in listing and "AUTRE" in listing and "Historique des exécutions" in listing
    def rows(query):  # the list's table only (the filters' own options name every value)
        page = b.get("/admin/sync-runs/?" + query).get_data(as_text=True)
        return page[page.index("<table"):page.rindex("</table>")]

    by_connector, by_status = rows("flt0_2=AUTRE"), rows("flt0_8=partial")
    by_direction, by_trigger = rows("flt0_7=send"), rows("flt0_9=scheduled")
    assert ">TST<" not in by_connector and "AUTRE" in by_connector
    assert "Partiel" in by_status and "Succès" not in by_status
    assert "Envoi" in by_direction and "Partiel" not in by_direction
    assert "Partiel" not in by_trigger and "Succès" not in by_trigger


@pytest.mark.parametrize("role, create, run, purge", [
    ("admin", 302, 302, 302), ("consultant", 302, 302, 302), ("backoffice", 403, 302, 403),
    ("viewer", 403, 403, 403)])
def test_roles_of_the_connector_screens(app, browser, tenants, role, create, run, purge):
    _create(browser("consultant@acme.test"), fail="")
    connector_id = _connector(app)
    b = browser(f"{role}@acme.test")
    assert b.get("/admin/connectors/").status_code == 200
    assert b.get("/admin/sync-runs/").status_code == 200
    assert _create(b, code="NEW", import_folder="new/in", export_folder="new/out").status_code == create
    assert b.post("/admin/connectors/run/", {"id": connector_id, "direction": "send", "dry_run": "1"}
                  ).status_code == run
    assert b.post("/admin/connectors/purge/", {"id": connector_id, "before": "01/01/2999", "confirm": "1"}
                  ).status_code == purge
    details = b.get(f"/admin/connectors/details/?id={connector_id}").get_data(as_text=True)
    assert ('id="run-send"' in details) == (run == 302)
    assert ('id="connector-purge"' in details) == (purge == 302)
    if run == 302:
        with app.app_context():
            run_id = db.session.query(SyncRun.id).scalar()
        if run_id:
            _wait_finished(b, run_id)


def test_purge_needs_confirmation_and_is_audited(app, browser, tenants):
    b = browser("consultant@acme.test")
    _create(b, fail="")
    connector_id = _connector(app)
    _run(b, connector_id)
    b.post("/admin/connectors/purge/", {"id": connector_id, "before": "01/01/2999"})
    with app.app_context():
        assert db.session.query(SyncRun).count() == 1
    page = b.post("/admin/connectors/purge/", {"id": connector_id, "before": "01/01/2999", "confirm": "1"},
                  follow_redirects=True).get_data(as_text=True)
    assert "1 exécutions purgées" in page or "purg" in page
    with app.app_context():
        assert db.session.query(SyncRun).count() == 0
        assert db.session.query(AuditLogEntry).filter_by(action="purge", row_code="TST").count() == 1


def test_another_tenants_connector_and_runs_are_404(app, browser, tenants):
    a = browser("consultant@acme.test")
    _create(a, fail="")
    connector_id = _connector(app)
    run_id, _ = _run(a, connector_id)
    b = browser("consultant@beta.test")
    assert b.get(f"/admin/connectors/details/?id={connector_id}").status_code == 404
    assert b.get(f"/admin/connectors/edit/?id={connector_id}").status_code == 404
    assert b.post("/admin/connectors/run/", {"id": connector_id, "direction": "send"}).status_code == 404
    assert b.get(f"/admin/sync-runs/details/?id={run_id}").status_code == 404
    assert b.get(f"/admin/sync-runs/progress/?id={run_id}").status_code == 404
    assert b.get(f"/admin/sync-runs/items/export/?id={run_id}").status_code == 404
    assert "TST" not in b.get("/admin/sync-runs/").get_data(as_text=True)


def test_the_home_page_links_to_the_failed_runs(app, browser, tenants):
    b = browser("consultant@acme.test")
    _create(b, api_key="refused", fail="")
    _run(b, _connector(app))
    home = b.get("/admin/").get_data(as_text=True)
    assert 'data-waiting="failed_runs"' in home and "1 connecteur dont la dernière exécution a échoué" in home
    assert 'data-waiting="failed_runs"' not in browser("consultant@beta.test").get("/admin/").get_data(as_text=True)
