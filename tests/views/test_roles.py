"""The role table of interfaces.md (S4) and login on every route (S1).

| action | admin | consultant | backoffice | viewer |
| tenants and users | ✓ | | | |
| parameter tables, dossier settings | ✓ | ✓ | read | read |
| lists, exports | ✓ | ✓ | ✓ | ✓ |

Forbidden actions are 403 and absent from the menus and lists.
"""
from decimal import Decimal
from urllib.parse import urlsplit

import pytest

from core.extensions import db
from models import DossierSettings, Tenant, User
from html_page import field_errors, form_values, hrefs, list_cells, nav_links, parse
from param_rows import FORM_EXTRA, SCREENS, add_row

WRITERS = ("admin", "consultant")
READERS = ("backoffice", "viewer")
ROLES = WRITERS + READERS
# The parameter tables named in interfaces.md (URL names).
SPEC_PARAMETER_SCREENS = (
    "document-titles", "operation-codes", "numbering-sequences", "product-natures", "article-families",
    "units", "price-categories", "depots", "sectors", "client-families", "supplier-families", "vat-rates",
    "establishments", "text-codes", "additional-cost-tables",
)


def _rows(app, model, tenant_id):
    with app.app_context():
        return {row.code: row.label for row in db.session.query(model).filter_by(tenant_id=tenant_id)}


def _id_of(app, model, tenant_id, code):
    with app.app_context():
        return db.session.query(model.id).filter_by(tenant_id=tenant_id, code=code).scalar()


def _row(app, model, tenant_id, code="ROW1"):
    with app.app_context():
        return add_row(model, tenant_id, code, "Original label").id


def test_every_parameter_table_of_the_spec_has_its_screens(app):
    rules = {rule.rule for rule in app.url_map.iter_rules()}
    for name in SPEC_PARAMETER_SCREENS + ("dossier-settings", "tenants", "users", "audit-log"):
        assert f"/admin/{name}/" in rules
    for name in SPEC_PARAMETER_SCREENS:
        for sub in ("new/", "edit/", "details/", "delete/", "export/<export_type>/"):
            assert f"/admin/{name}/{sub}" in rules, (name, sub)


# --- S1: login everywhere -------------------------------------------------------------

def _build(rule) -> str:
    """A URL of the rule, its arguments filled in (``xlsx`` for an export type, 1 for an id)."""
    try:
        return rule.build({name: "xlsx" for name in rule.arguments}, append_unknown=False)[1]
    except ValueError:
        return rule.build({name: 1 for name in rule.arguments}, append_unknown=False)[1]


def _anonymous_urls(app):
    """Every route of the application but static files, login and logout, with its methods."""
    urls = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint.endswith(".static"):
            continue
        if rule.endpoint in ("auth.login", "auth.logout"):
            continue
        path = _build(rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            urls.append((method, path, rule.endpoint))
    return urls


def test_every_route_without_login_redirects_to_login(app, browser, tenants):
    urls = _anonymous_urls(app)
    admin_urls = [u for u in urls if u[1].startswith("/admin/")]
    # every screen, every sub-page, every POST target: far more than a hand list would hold
    assert len(admin_urls) > 150
    anonymous = browser()  # not logged in, but with a CSRF token so that POSTs reach the login check
    for method, path, endpoint in urls:
        if method == "GET":
            response = anonymous.get(path + "?id=1")
        else:
            response = anonymous.post(path + "?id=1", {"id": "1", "action": "delete", "rowid": "1"})
        if path.startswith("/hooks/"):  # webhooks authenticate by token: 401, never a page
            assert response.status_code in (401, 403, 404), (method, path, response.status_code)
            continue
        hops = 0
        while response.status_code in (301, 302, 303) and urlsplit(response.headers["Location"]).path != "/login":
            assert hops < 3, (method, path)
            response, hops = anonymous.get(response.headers["Location"]), hops + 1
        assert response.status_code in (302, 303), (method, path, response.status_code)
        assert urlsplit(response.headers["Location"]).path == "/login", (method, path)
        if path.startswith("/admin/"):
            assert hops == 0, (method, path, "an admin route redirects straight to /login")


def test_login_redirect_keeps_the_target_page(browser, tenants):
    response = browser().get("/admin/operation-codes/")
    assert response.status_code == 302
    assert "next=" in response.headers["Location"] and "operation-codes" in response.headers["Location"]


def test_anonymous_posts_change_nothing(app, browser, tenants):
    row_id = _row(app, SCREENS["units"], tenants["ACME"])
    anonymous = browser()
    anonymous.post("/admin/units/new/", {"code": "NEW", "label": "New"})
    anonymous.post(f"/admin/units/edit/?id={row_id}", {"code": "ROW1", "label": "Changed"})
    anonymous.post("/admin/units/delete/", {"id": str(row_id)})
    assert _rows(app, SCREENS["units"], tenants["ACME"]) == {"ROW1": "Original label"}


# --- Parameter tables: writers -----------------------------------------------------------

@pytest.mark.parametrize("screen", sorted(SCREENS))
def test_writers_create_edit_and_delete_parameter_rows(app, browser, tenants, screen):
    model, tenant_id = SCREENS[screen], tenants["ACME"]
    for role in WRITERS:
        row_id = _row(app, model, tenant_id)
        b = browser(f"{role}@acme.test")

        listing = b.get(f"/admin/{screen}/")
        assert listing.status_code == 200
        links = hrefs(listing)
        assert any(f"/admin/{screen}/new/" in link for link in links)
        assert any(f"/admin/{screen}/edit/?id={row_id}" in link for link in links)
        assert f"/admin/{screen}/delete/" in [form.attrs.get("action") for form in parse(listing).find_all("form")]

        new_page = b.get(f"/admin/{screen}/new/")
        assert new_page.status_code == 200
        data = {**form_values(new_page), **FORM_EXTRA.get(screen, {}), "code": "NEW1", "label": "Created"}
        created = b.post(f"/admin/{screen}/new/", data)
        assert created.status_code == 302, (role, created.get_data(as_text=True)[-3000:])

        edit_page = b.get(f"/admin/{screen}/edit/?id={row_id}")
        assert edit_page.status_code == 200
        data = {**form_values(edit_page), "label": "Edited"}
        assert b.post(f"/admin/{screen}/edit/?id={row_id}", data).status_code == 302

        assert _rows(app, model, tenant_id) == {"ROW1": "Edited", "NEW1": "Created"}
        assert b.post(f"/admin/{screen}/delete/", {"id": str(row_id)}).status_code == 302
        assert _rows(app, model, tenant_id) == {"NEW1": "Created"}
        new_id = _id_of(app, model, tenant_id, "NEW1")
        assert b.post(f"/admin/{screen}/action/", {"action": "delete", "rowid": str(new_id)}).status_code in (302, 303)
        assert _rows(app, model, tenant_id) == {}, role


# --- Parameter tables: readers -----------------------------------------------------------

@pytest.mark.parametrize("screen", sorted(SCREENS))
def test_readers_see_parameter_rows_but_cannot_change_them(app, browser, tenants, screen):
    model, tenant_id = SCREENS[screen], tenants["ACME"]
    row_id = _row(app, model, tenant_id)
    for role in READERS:
        b = browser(f"{role}@acme.test")
        listing = b.get(f"/admin/{screen}/")
        assert listing.status_code == 200
        assert list_cells(listing, "code") == ["ROW1"]
        links = hrefs(listing)
        for forbidden in ("/new/", "/edit/", "/import/"):
            assert not any(f"/admin/{screen}{forbidden}" in link for link in links), (role, forbidden)
        actions = [form.attrs.get("action") for form in parse(listing).find_all("form")]
        assert f"/admin/{screen}/delete/" not in actions and f"/admin/{screen}/action/" not in actions
        assert b.get(f"/admin/{screen}/details/?id={row_id}").status_code == 200
        assert b.get(f"/admin/{screen}/export/xlsx/").status_code == 200
        assert f"/admin/{screen}/" in nav_links(listing)  # reading is allowed: the menu entry stays

        data = {"code": "NEW1", "label": "Created", **FORM_EXTRA.get(screen, {})}
        assert b.get(f"/admin/{screen}/new/").status_code == 403
        assert b.post(f"/admin/{screen}/new/", data).status_code == 403
        assert b.get(f"/admin/{screen}/edit/?id={row_id}").status_code == 403
        assert b.post(f"/admin/{screen}/edit/?id={row_id}", {**data, "code": "ROW1"}).status_code == 403
        assert b.post(f"/admin/{screen}/delete/", {"id": str(row_id)}).status_code == 403
        assert b.post(f"/admin/{screen}/action/", {"action": "delete", "rowid": str(row_id)}).status_code == 403
        assert b.get(f"/admin/{screen}/import/").status_code == 403
        assert _rows(app, model, tenant_id) == {"ROW1": "Original label"}, role


# --- Dossier settings ---------------------------------------------------------------------

def _settings(app, tenant_id):
    with app.app_context():
        row = db.session.query(DossierSettings).filter_by(tenant_id=tenant_id).one()
        return row.labour_nature_prefix, row.labour_sales_coefficient, row.header_text


@pytest.mark.parametrize("role", WRITERS)
def test_writers_save_dossier_settings(app, browser, tenants, role):
    b = browser(f"{role}@acme.test")
    page = b.get("/admin/dossier-settings/")
    assert page.status_code == 200
    form = parse(page).find("form", id="dossier-settings-form")
    assert form.find("button", type="submit") is not None
    assert all("disabled" not in fieldset.attrs for fieldset in form.find_all("fieldset"))
    data = {**form_values(page, "dossier-settings-form"), "labour_nature_prefix": "5MO",
            "labour_sales_coefficient": "1.35", "header_text": "En-tête"}
    response = b.post("/admin/dossier-settings/", data)
    assert response.status_code == 302
    assert _settings(app, tenants["ACME"]) == ("5MO", Decimal("1.35"), "En-tête")


@pytest.mark.parametrize("role", READERS)
def test_readers_cannot_save_dossier_settings(app, browser, tenants, role):
    b = browser(f"{role}@acme.test")
    page = b.get("/admin/dossier-settings/")
    assert page.status_code == 200
    form = parse(page).find("form", id="dossier-settings-form")
    assert form.find("button", type="submit") is None
    fieldsets = form.find_all("fieldset")
    assert fieldsets and all("disabled" in fieldset.attrs for fieldset in fieldsets)
    before = _settings(app, tenants["ACME"])
    data = {**form_values(page, "dossier-settings-form"), "labour_nature_prefix": "5MO",
            "labour_sales_coefficient": "1.35", "header_text": "En-tête"}
    response = b.post("/admin/dossier-settings/", data)
    assert response.status_code != 302
    assert _settings(app, tenants["ACME"]) == before == ("4MO", Decimal("1"), "")
    # the model sub-pages of the settings screen are closed to readers as well
    assert b.get("/admin/dossier-settings/edit/").status_code == 403
    assert b.post("/admin/dossier-settings/edit/", data).status_code == 403
    assert _settings(app, tenants["ACME"]) == before


@pytest.mark.parametrize("role", ROLES)
def test_dossier_settings_cannot_be_created_or_deleted(app, browser, tenants, role):
    b = browser(f"{role}@acme.test")
    with app.app_context():
        settings_id = db.session.query(DossierSettings.id).filter_by(tenant_id=tenants["ACME"]).scalar()
    assert b.get("/admin/dossier-settings/new/").status_code == 403
    assert b.post("/admin/dossier-settings/delete/", {"id": str(settings_id)}).status_code == 403
    with app.app_context():
        assert db.session.query(DossierSettings).filter_by(tenant_id=tenants["ACME"]).count() == 1


# --- Tenants and users: admin only -------------------------------------------------------

@pytest.mark.parametrize("role", ("consultant", "backoffice", "viewer"))
def test_tenants_and_users_screens_are_admin_only(app, browser, tenants, role):
    with app.app_context():
        user_id = db.session.query(User.id).filter_by(email="viewer@acme.test").scalar()
    b = browser(f"{role}@acme.test")
    home = b.get("/admin/")
    assert home.status_code == 200
    menu = nav_links(home)
    assert "/admin/operation-codes/" in menu  # the menu is there, without the admin entries
    for screen, row_id in (("tenants", tenants["ACME"]), ("users", user_id)):
        assert f"/admin/{screen}/" not in menu
        assert b.get(f"/admin/{screen}/").status_code == 403
        assert b.get(f"/admin/{screen}/new/").status_code == 403
        assert b.get(f"/admin/{screen}/edit/?id={row_id}").status_code == 403
        assert b.get(f"/admin/{screen}/details/?id={row_id}").status_code == 403
        assert b.get(f"/admin/{screen}/export/xlsx/").status_code == 403
    assert b.post("/admin/tenants/new/", {"code": "EVIL", "name": "Evil"}).status_code == 403
    assert b.post("/admin/users/new/", {"email": "evil@acme.test", "password": "long-enough-pw",
                                        "memberships-0-tenant": str(tenants["ACME"]),
                                        "memberships-0-role": "admin"}).status_code == 403
    assert b.post(f"/admin/users/edit/?id={user_id}", {"email": "viewer@acme.test", "active": "y",
                                                       "password": "hijacked-password"}).status_code == 403
    with app.app_context():
        assert db.session.query(Tenant).filter_by(code="EVIL").count() == 0
        assert db.session.query(User).filter_by(email="evil@acme.test").count() == 0
        assert not db.session.get(User, user_id).check_password("hijacked-password")


def test_admin_manages_tenants_and_users(app, browser, tenants):
    b = browser("admin@acme.test")
    menu = nav_links(b.get("/admin/"))
    assert "/admin/tenants/" in menu and "/admin/users/" in menu
    tenants_page = b.get("/admin/tenants/")
    assert tenants_page.status_code == 200 and list_cells(tenants_page, "code") == ["ACME"]
    users_page = b.get("/admin/users/")
    assert users_page.status_code == 200
    assert sorted(list_cells(users_page, "email")) == sorted(f"{r}@acme.test" for r in ROLES)

    assert b.post("/admin/tenants/new/", {"code": "gamma", "name": "Gamma"}).status_code == 302
    with app.app_context():
        gamma = db.session.query(Tenant).filter_by(code="GAMMA").one()
        assert db.session.query(DossierSettings).filter_by(tenant_id=gamma.id).count() == 1
        gamma_id = gamma.id
    twin = b.post("/admin/tenants/new/", {"code": "Gamma", "name": "Gamma again"})
    assert twin.status_code == 200 and field_errors(twin, "code")
    with app.app_context():
        assert db.session.query(Tenant).filter_by(code="GAMMA").count() == 1
    response = b.post("/admin/users/new/", {
        "email": "New.User@acme.test", "full_name": "New User", "locale": "fr", "active": "y",
        "password": "a-long-password", "memberships-0-tenant": str(tenants["ACME"]),
        "memberships-0-role": "backoffice", "memberships-1-tenant": str(gamma_id),
        "memberships-1-role": "viewer"})
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    with app.app_context():
        user = db.session.query(User).filter_by(email="new.user@acme.test").one()
        assert user.check_password("a-long-password")
        assert sorted((m.tenant.code, m.role) for m in user.memberships) == [
            ("ACME", "backoffice"), ("GAMMA", "viewer")]
    newcomer = browser()
    assert newcomer.login("new.user@acme.test", "a-long-password").status_code == 302
    assert newcomer.get("/admin/units/").status_code == 200
    assert newcomer.get("/admin/units/new/").status_code == 403  # backoffice in ACME
