"""The role table of interfaces.md / docs/urls.md enforced by the one gate (RoleGate in
views/base.py; issue 7, item 14): every POST route of every screen is 403 for a role
that may not write there, whatever the screen (model view or custom page), and pages
for writers only (the payments template) are 403 for the others."""
import pytest

from core.extensions import db
from html_page import form_values
from models import DossierSettings

PARAMETER_WRITERS = frozenset({"admin", "consultant"})
MASTER_DATA_WRITERS = frozenset({"admin", "consultant", "backoffice"})
# Who writes on each screen (the "write" column of docs/urls.md), by URL name.
WRITERS = {
    **{name: PARAMETER_WRITERS for name in (
        "document-titles", "operation-codes", "numbering-sequences", "product-natures", "article-families",
        "units", "price-categories", "depots", "sectors", "client-families", "supplier-families", "vat-rates",
        "establishments", "text-codes", "additional-cost-tables", "dossier-settings", "parameters-workbook")},
    **{name: MASTER_DATA_WRITERS for name in (
        "clients", "suppliers", "contacts", "sites", "job-sites", "employees", "articles", "contracts",
        "equipment", "invoices", "payments", "payment-batches", "orders", "delivery-notes", "article-mappings")},
    "tenants": frozenset({"admin"}), "users": frozenset({"admin"}),
    "audit-log": frozenset(), "connectors": PARAMETER_WRITERS, "sync-runs": MASTER_DATA_WRITERS,
    "csv-reception": MASTER_DATA_WRITERS,
}
# Pages whose writers differ from their screen's: a connector's manual run.
PAGE_WRITERS = {"/admin/connectors/run/": MASTER_DATA_WRITERS, "/admin/connectors/refresh/": MASTER_DATA_WRITERS,
                "/admin/connectors/test-connection/": MASTER_DATA_WRITERS}
# Pages every logged-in user may post to, whatever his role: his own password.
OWN_ACCOUNT = {"password"}


def _post_routes(app):
    routes = []
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods or not rule.rule.startswith("/admin/"):
            continue
        screen = rule.rule.split("/")[2]
        if screen in OWN_ACCOUNT:
            continue
        assert screen in WRITERS, f"{rule.rule}: a POST route outside the role table"
        path = rule.build({name: 1 for name in rule.arguments}, append_unknown=False)[1]
        routes.append((screen, path))
    return routes


@pytest.mark.parametrize("role", ("viewer", "backoffice", "consultant"))
def test_every_forbidden_post_is_403(app, browser, tenants, role):
    b = browser(f"{role}@acme.test")
    routes = _post_routes(app)
    assert len(routes) > 50
    checked = 0
    for screen, path in routes:
        if role in PAGE_WRITERS.get(path, WRITERS[screen]):
            continue
        response = b.post(path + "?id=1", {"id": "1", "action": "delete", "rowid": "1", "code": "X", "label": "X"})
        assert response.status_code == 403, (role, path, response.status_code)
        checked += 1
    assert checked > 0


@pytest.mark.parametrize("role", ("viewer", "backoffice"))
def test_a_reader_posting_the_dossier_settings_gets_403(app, browser, tenants, role):
    b = browser(f"{role}@acme.test")
    page = b.get("/admin/dossier-settings/")
    data = {**form_values(page, "dossier-settings-form"), "labour_nature_prefix": "5MO"}
    assert b.post("/admin/dossier-settings/", data).status_code == 403
    with app.app_context():
        assert db.session.query(DossierSettings.labour_nature_prefix).filter_by(
            tenant_id=tenants["ACME"]).scalar() == "4MO"


@pytest.mark.parametrize("role, status", [("admin", 200), ("consultant", 200), ("backoffice", 200),
                                          ("viewer", 403)])
def test_the_payments_template_is_for_importers_only(browser, tenants, role, status):
    b = browser(f"{role}@acme.test")
    assert b.get("/admin/payments/import/template/").status_code == status
    assert b.get("/admin/payments/import/").status_code == status
    assert b.get("/admin/payments/").status_code == 200  # the list stays open to everyone
