"""Tenant isolation (S3): a row of another tenant is a 404 whatever the URL or form
field says; lists, counts, exports, relation selects and look-ups show only the
current tenant; new rows get the current tenant; the tenant switcher only goes to
tenants the user belongs to."""

import pytest
from flask import g

from core.extensions import db
from models import (
    AdditionalCostTable, ArticleFamily, AuditLogEntry, DocumentTitle, DossierSettings, Establishment, Membership,
    NumberingSequence, OperationCode, ProductNature, Tenant, TextCode, Unit, User,
)
from rules.settings import RELATIONS
from rules.tenancy import create_tenant, create_user
from html_page import field_errors, form_values, list_cells, list_count, options
from param_rows import FORM_EXTRA, SCREENS, add_row, admin_view, xlsx_values

PASSWORD = "correct-horse-battery"


def _codes(app, model, tenant_id):
    with app.app_context():
        return {row.code: row.label for row in db.session.query(model).filter_by(tenant_id=tenant_id)}


def _ids(values):
    return {value for value, _text in values if value not in ("", "__None")}


# --- URLs -----------------------------------------------------------------------------------

@pytest.mark.parametrize("screen", sorted(SCREENS))
def test_a_row_of_another_tenant_is_404_and_never_listed(app, browser, tenants, screen):
    model = SCREENS[screen]
    with app.app_context():
        mine = add_row(model, tenants["ACME"], "MINE", "Acme row").id
        add_row(model, tenants["ACME"], "SHARED", "Acme shared", **(
            {"document_type": "quote"} if model is NumberingSequence else {}))
        theirs = add_row(model, tenants["BETA"], "THEIRS", "Beta row").id
        add_row(model, tenants["BETA"], "SHARED", "Beta shared", **(
            {"document_type": "quote"} if model is NumberingSequence else {}))
    b = browser("consultant@acme.test")

    assert b.get(f"/admin/{screen}/details/?id={mine}").status_code == 200
    assert b.get(f"/admin/{screen}/details/?id={theirs}").status_code == 404
    assert b.get(f"/admin/{screen}/edit/?id={theirs}").status_code == 404
    assert b.get(f"/admin/{screen}/edit/?id=not-a-number").status_code == 404
    data = {"code": "THEIRS", "label": "Hijacked", **FORM_EXTRA.get(screen, {})}
    assert b.post(f"/admin/{screen}/edit/?id={theirs}", data).status_code == 404
    assert b.post(f"/admin/{screen}/delete/", {"id": str(theirs)}).status_code == 404
    b.post(f"/admin/{screen}/action/", {"action": "delete", "rowid": [str(theirs)]})
    assert _codes(app, model, tenants["BETA"]) == {"THEIRS": "Beta row", "SHARED": "Beta shared"}

    listing = b.get(f"/admin/{screen}/")
    assert sorted(list_cells(listing, "code")) == ["MINE", "SHARED"]
    assert list_count(listing) == 2
    assert list_cells(b.get(f"/admin/{screen}/?search=THEIRS"), "code") == []
    assert "Beta shared" not in listing.get_data(as_text=True)

    export = xlsx_values(b.get(f"/admin/{screen}/export/xlsx/").data)
    assert sorted(row[0] for row in export[1:]) == ["MINE", "SHARED"]
    assert "Beta shared" not in [cell for row in export for cell in row]
    assert xlsx_values(b.get(f"/admin/{screen}/export/xlsx/?search=THEIRS").data)[1:] == []


def test_the_other_tenant_sees_only_its_own_rows(app, browser, tenants):
    with app.app_context():
        add_row(Unit, tenants["ACME"], "A1")
        add_row(Unit, tenants["BETA"], "B1")
    assert list_cells(browser("viewer@acme.test").get("/admin/units/"), "code") == ["A1"]
    assert list_cells(browser("viewer@beta.test").get("/admin/units/"), "code") == ["B1"]


def test_audit_log_of_another_tenant_is_hidden(app, browser, tenants):
    for tenant in ("acme", "beta"):
        b = browser(f"consultant@{tenant}.test")
        assert b.post("/admin/units/new/", {"code": tenant.upper(), "label": "x"}).status_code == 302
    page = browser("viewer@acme.test").get("/admin/audit-log/")
    codes = set(list_cells(page, "row_code"))
    assert "ACME" in codes and "BETA" not in codes
    with app.app_context():
        beta_entry = db.session.query(AuditLogEntry.id).filter_by(row_code="BETA").first()[0]
    assert browser("viewer@acme.test").get(f"/admin/audit-log/details/?id={beta_entry}").status_code == 404


# --- Relation selects -------------------------------------------------------------------------

@pytest.fixture
def relations(app, tenants):
    """In each tenant: a credit-note code, an invoice code, a document title, an establishment,
    a family, a unit, a cost table, a text code and a product nature."""
    result = {}
    with app.app_context():
        for code, tenant_id in tenants.items():
            rows = {}
            rows["title"] = add_row(DocumentTitle, tenant_id, f"T{code}", document_type="invoice")
            rows["credit_note"] = add_row(OperationCode, tenant_id, f"AV{code}", document_type="credit_note")
            rows["invoice"] = add_row(OperationCode, tenant_id, f"FA{code}", document_type="invoice",
                                      billable=True, credit_note_operation_code_id=rows["credit_note"].id)
            rows["establishment"] = add_row(Establishment, tenant_id, f"E{code}")
            rows["family"] = add_row(ArticleFamily, tenant_id, f"F{code}")
            rows["unit"] = add_row(Unit, tenant_id, f"U{code}")
            rows["cost_table"] = add_row(AdditionalCostTable, tenant_id, f"C{code}")
            rows["text"] = add_row(TextCode, tenant_id, f"X{code}")
            rows["nature"] = add_row(ProductNature, tenant_id, f"N{code}")
            result[code] = {name: row.id for name, row in rows.items()}
    return result


def test_relation_selects_offer_only_rows_of_the_current_tenant(browser, relations):
    b = browser("consultant@acme.test")
    acme, beta = relations["ACME"], relations["BETA"]
    page = b.get("/admin/operation-codes/new/")
    assert _ids(options(page, "credit_note_operation_code")) == {str(acme["credit_note"])}  # credit notes only
    assert _ids(options(page, "document_title")) == {str(acme["title"])}
    page = b.get(f"/admin/operation-codes/edit/?id={acme['invoice']}")
    assert str(beta["credit_note"]) not in _ids(options(page, "credit_note_operation_code"))
    assert _ids(options(b.get("/admin/numbering-sequences/new/"), "establishment")) == {str(acme["establishment"])}
    assert _ids(options(b.get("/admin/article-families/new/"), "parent")) == {str(acme["family"])}


def test_dossier_settings_relation_selects_offer_only_rows_of_the_current_tenant(app, browser, tenants, relations):
    acme_ids, beta_ids = set(), set()
    with app.app_context():
        for model in (Unit, AdditionalCostTable, OperationCode, DocumentTitle, TextCode, ProductNature):
            for row in db.session.query(model):
                mine = row.tenant_id == tenants["ACME"]
                (acme_ids if mine else beta_ids).add((model.__tablename__, str(row.id)))
    page = browser("consultant@acme.test").get("/admin/dossier-settings/")
    targets = {
        "labour_unit": "units", "intervention_time_unit": "units", "additional_cost_table": "additional_cost_tables",
        "prospect_quote_title": "document_titles", "client_quote_title": "document_titles",
        "order_confirmation_title": "document_titles", "terms_of_sale_text_code": "text_codes",
        "price_revision_nature": "product_natures", "contractual_holdback_nature": "product_natures",
    }
    for field in RELATIONS:
        table = targets.get(field, "operation_codes")
        offered = {(table, value) for value in _ids(options(page, field))}
        mine = {item for item in acme_ids if item[0] == table}
        if table == "operation_codes":  # narrowed to the billable (or not billable) codes of the tenant
            assert offered and offered <= mine, field
        else:
            assert offered == mine, field
        assert not offered & beta_ids, field


def test_ajax_lookups_are_restricted_to_the_current_tenant(app, tenants, relations):
    with app.test_request_context("/admin/operation-codes/"):
        view = admin_view("operation-codes")
        loader = view._create_ajax_loader("credit_note_operation_code", {"fields": ("code", "label")})
        g.tenant, g.role = db.session.get(Tenant, tenants["ACME"]), "consultant"
        assert {row.code for row in loader.get_list("")} == {"AVACME", "FAACME"}
        assert {row.code for row in loader.get_list("AV")} == {"AVACME"}
        assert loader.get_one(relations["BETA"]["credit_note"]) is None
        assert loader.get_one(relations["ACME"]["credit_note"]).code == "AVACME"


def test_another_tenants_id_in_a_relation_field_is_refused(app, browser, tenants, relations):
    b = browser("consultant@acme.test")
    acme, beta = relations["ACME"], relations["BETA"]

    response = b.post("/admin/operation-codes/new/", {
        "code": "FX", "label": "Facture", "document_type": "invoice", "billable": "y", "active": "y",
        "credit_note_operation_code": str(beta["credit_note"])})
    assert response.status_code == 200 and field_errors(response, "credit_note_operation_code")
    assert "FX" not in _codes(app, OperationCode, tenants["ACME"])

    edit_url = f"/admin/operation-codes/edit/?id={acme['invoice']}"
    data = {**form_values(b.get(edit_url)), "credit_note_operation_code": str(beta["credit_note"]),
            "document_title": str(beta["title"])}
    response = b.post(edit_url, data)
    assert response.status_code == 200
    assert field_errors(response, "credit_note_operation_code") and field_errors(response, "document_title")

    response = b.post("/admin/numbering-sequences/new/", {
        "code": "FG", "label": "Factures", "document_type": "invoice", "gapless": "y", "padding": "6",
        "next_number": "1", "establishment": str(beta["establishment"])})
    assert response.status_code == 200 and field_errors(response, "establishment")

    response = b.post("/admin/article-families/new/", {"code": "SUB", "label": "Sub", "parent": str(beta["family"])})
    assert response.status_code == 200 and field_errors(response, "parent")

    with app.app_context():
        invoice = db.session.get(OperationCode, acme["invoice"])
        assert (invoice.credit_note_operation_code_id, invoice.document_title_id) == (acme["credit_note"], None)
        assert db.session.query(NumberingSequence).count() == 0
        assert db.session.query(ArticleFamily).filter_by(code="SUB").count() == 0


def test_another_tenants_id_in_the_dossier_settings_is_refused(app, browser, tenants, relations):
    b = browser("consultant@acme.test")
    beta = relations["BETA"]
    page = b.get("/admin/dossier-settings/")
    data = {**form_values(page, "dossier-settings-form"), "header_text": "Changed",
            "labour_unit": str(beta["unit"]), "classic_order_operation_code": str(beta["credit_note"]),
            "grouped_billing_operation_code": str(beta["invoice"]),
            "terms_of_sale_text_code": str(beta["text"]), "price_revision_nature": str(beta["nature"])}
    response = b.post("/admin/dossier-settings/", data)
    assert response.status_code == 200
    for field in ("labour_unit", "classic_order_operation_code", "grouped_billing_operation_code",
                  "terms_of_sale_text_code", "price_revision_nature"):
        assert field_errors(response, field), field
    with app.app_context():
        settings = db.session.query(DossierSettings).filter_by(tenant_id=tenants["ACME"]).one()
        assert settings.header_text == ""
        assert settings.labour_unit_id is None and settings.classic_order_operation_code_id is None


# --- New rows ---------------------------------------------------------------------------------

@pytest.mark.parametrize("screen", ["units", "operation-codes", "vat-rates", "numbering-sequences"])
def test_new_rows_get_the_current_tenant_whatever_the_form_says(app, browser, tenants, screen):
    b = browser("consultant@acme.test")
    data = {"code": "NEW", "label": "New", **FORM_EXTRA.get(screen, {}),
            "tenant_id": str(tenants["BETA"]), "tenant": str(tenants["BETA"])}
    assert b.post(f"/admin/{screen}/new/", data).status_code == 302
    with app.app_context():
        model = SCREENS[screen]
        assert [row.tenant_id for row in db.session.query(model).filter_by(code="NEW")] == [tenants["ACME"]]
    # and the same code is still free in the other tenant
    assert browser("consultant@beta.test").post(f"/admin/{screen}/new/", {**data, "label": "Beta"}).status_code == 302
    assert _codes(app, SCREENS[screen], tenants["BETA"]) == {"NEW": "Beta"}


def test_editing_a_row_cannot_move_it_to_another_tenant(app, browser, tenants):
    with app.app_context():
        unit_id = add_row(Unit, tenants["ACME"], "U1").id
    b = browser("consultant@acme.test")
    b.post(f"/admin/units/edit/?id={unit_id}", {"code": "U1", "label": "Moved?", "tenant_id": str(tenants["BETA"]),
                                                 "tenant": str(tenants["BETA"])})
    assert _codes(app, Unit, tenants["ACME"]) == {"U1": "Moved?"}
    assert _codes(app, Unit, tenants["BETA"]) == {}


# --- Administration screens -----------------------------------------------------------------

def test_an_admin_only_sees_and_manages_his_own_tenants_and_users(app, browser, tenants):
    with app.app_context():
        beta_user = db.session.query(User.id).filter_by(email="viewer@beta.test").scalar()
        acme_user = db.session.query(User.id).filter_by(email="viewer@acme.test").scalar()
    b = browser("admin@acme.test")
    assert list_cells(b.get("/admin/tenants/"), "code") == ["ACME"]
    assert "viewer@beta.test" not in list_cells(b.get("/admin/users/"), "email")
    assert b.get(f"/admin/tenants/edit/?id={tenants['BETA']}").status_code == 404
    assert b.get(f"/admin/tenants/details/?id={tenants['BETA']}").status_code == 404
    assert b.get(f"/admin/users/edit/?id={beta_user}").status_code == 404
    assert b.post(f"/admin/users/edit/?id={beta_user}", {"email": "viewer@beta.test", "active": "y",
                                                         "password": "taken-over-pw"}).status_code == 404

    page = b.get("/admin/users/new/")
    assert page.status_code == 200
    # the membership's tenant select of a new user offers the administered tenants only
    response = b.post("/admin/users/new/", {
        "email": "intruder@acme.test", "locale": "fr", "active": "y", "password": "a-long-password",
        "memberships-0-tenant": str(tenants["BETA"]), "memberships-0-role": "admin"})
    assert response.status_code == 200
    edit_url = f"/admin/users/edit/?id={acme_user}"
    b.post(edit_url, {"email": "viewer@acme.test", "locale": "fr", "active": "y",
                      "memberships-0-tenant": str(tenants["BETA"]), "memberships-0-role": "admin"})
    with app.app_context():
        assert db.session.query(User).filter_by(email="intruder@acme.test").count() == 0
        assert db.session.query(Membership).filter_by(tenant_id=tenants["BETA"], role="admin").count() == 1
        assert db.session.get(User, beta_user).check_password(PASSWORD)
        assert [(m.tenant_id, m.role) for m in db.session.get(User, acme_user).memberships] == [
            (tenants["ACME"], "viewer")]


# --- Tenant switcher --------------------------------------------------------------------------

@pytest.fixture
def multi(app, tenants):
    """multi@both.test: consultant in ACME, viewer in BETA; GAMMA exists without him."""
    with app.app_context():
        acme, beta = db.session.get(Tenant, tenants["ACME"]), db.session.get(Tenant, tenants["BETA"])
        create_user("multi@both.test", PASSWORD, [(acme, "consultant"), (beta, "viewer")])
        gamma = create_tenant("GAMMA", "Gamma")
        for tenant_id, code in ((tenants["ACME"], "A1"), (tenants["BETA"], "B1"), (gamma.id, "G1")):
            db.session.add(Unit(tenant_id=tenant_id, code=code, label=code))
        db.session.commit()
        return {**tenants, "GAMMA": gamma.id}


def test_the_tenant_switcher_goes_only_to_the_users_tenants(app, browser, multi):
    b = browser("multi@both.test")
    home = b.get("/admin/")
    assert _ids(options(home, "tenant-select")) == {str(multi["ACME"]), str(multi["BETA"])}
    assert list_cells(b.get("/admin/units/"), "code") == ["A1"]
    assert b.get("/admin/units/new/").status_code == 200  # consultant in ACME

    assert b.post("/tenant", {"tenant_id": str(multi["BETA"])}).status_code == 302
    assert list_cells(b.get("/admin/units/"), "code") == ["B1"]
    assert b.get("/admin/units/new/").status_code == 403  # viewer in BETA

    for refused in (str(multi["GAMMA"]), "999999", "not-a-number", ""):
        assert b.post("/tenant", {"tenant_id": refused}).status_code == 302
        assert list_cells(b.get("/admin/units/"), "code") == ["B1"], refused

    assert b.post("/tenant", {"tenant_id": str(multi["ACME"])}).status_code == 302
    assert list_cells(b.get("/admin/units/"), "code") == ["A1"]


def test_a_single_tenant_user_cannot_switch(app, browser, multi):
    b = browser("consultant@acme.test")
    assert b.post("/tenant", {"tenant_id": str(multi["BETA"])}).status_code == 302
    assert list_cells(b.get("/admin/units/"), "code") == ["A1"]


def test_a_removed_membership_closes_the_tenant_at_once(app, browser, multi):
    b = browser("multi@both.test")
    b.post("/tenant", {"tenant_id": str(multi["BETA"])})
    assert list_cells(b.get("/admin/units/"), "code") == ["B1"]
    with app.app_context():
        db.session.query(Membership).filter_by(tenant_id=multi["BETA"]).filter(
            Membership.user_id == db.session.query(User.id).filter_by(email="multi@both.test").scalar_subquery()
        ).delete(synchronize_session=False)
        db.session.commit()
    assert list_cells(b.get("/admin/units/"), "code") == ["A1"]
