"""Administration of users and tenants from the screens (issue 7, item 5): editing a row
without "already exists", roles and memberships limited to the tenants the admin
administers, password reset, deactivation instead of delete, a tenant's fixed code,
and every user's own password change."""
import pytest

from core.extensions import db
from html_page import alerts, field_errors, field_value, form_values, options, parse
from models import Membership, Tenant, User
from rules.tenancy import create_user

PASSWORD = "correct-horse-battery"


def _user(app, email):
    with app.app_context():
        user = db.session.query(User).filter_by(email=email).one_or_none()
        if user is None:
            return None
        return {"id": user.id, "email": user.email, "full_name": user.full_name, "active": user.active,
                "roles": sorted((m.tenant.code, m.role) for m in user.memberships)}


def _user_id(app, email):
    return _user(app, email)["id"]


@pytest.fixture
def shared_user(app, tenants):
    """``both@acme.test``: backoffice in ACME and viewer in BETA (admin@acme.test administers
    ACME only)."""
    with app.app_context():
        acme, beta = db.session.get(Tenant, tenants["ACME"]), db.session.get(Tenant, tenants["BETA"])
        create_user("both@acme.test", PASSWORD, [(acme, "backoffice"), (beta, "viewer")])
        db.session.commit()
    return "both@acme.test"


def membership_errors(html) -> list[str]:
    """The errors shown under the inline list of roles per dossier."""
    group = parse(html).find("div", id="memberships").ancestor("div", "form-group")
    return [li.text for ul in group.find_all("ul", "text-danger") for li in ul.find_all("li")]


def _edit(b, user_id, **changes):
    page = b.get(f"/admin/users/edit/?id={user_id}")
    assert page.status_code == 200
    data = {**form_values(page), **changes}
    return b.post(f"/admin/users/edit/?id={user_id}", {k: v for k, v in data.items() if v is not None})


def test_an_unchanged_user_and_tenant_save(app, browser, tenants):
    b = browser("admin@acme.test")
    user_id = _user_id(app, "viewer@acme.test")
    response = _edit(b, user_id)
    assert response.status_code == 302, alerts(response) + [response.get_data(as_text=True)[-1500:]]
    page = b.get(f"/admin/tenants/edit/?id={tenants['ACME']}")
    response = b.post(f"/admin/tenants/edit/?id={tenants['ACME']}", form_values(page))
    assert response.status_code == 302, response.get_data(as_text=True)[-1500:]


def test_admin_renames_changes_role_and_resets_password(app, browser, tenants):
    user_id = _user_id(app, "viewer@acme.test")
    victim = browser("viewer@acme.test")
    b = browser("admin@acme.test")
    response = _edit(b, user_id, email="Renamed@ACME.test", full_name="Renamed User",
                     **{"memberships-0-role": "consultant"}, password="a-brand-new-password")
    assert response.status_code == 302, alerts(response)
    assert _user(app, "renamed@acme.test") == {"id": user_id, "email": "renamed@acme.test",
                                               "full_name": "Renamed User", "active": True,
                                               "roles": [("ACME", "consultant")]}
    # the reset password is the one now, and the user's open session ended with the old one
    assert victim.get("/admin/").status_code == 302
    assert browser().login("renamed@acme.test").status_code == 200
    assert browser().login("renamed@acme.test", "a-brand-new-password").status_code == 302


def test_a_taken_email_and_a_short_password_are_refused_next_to_their_fields(app, browser, tenants):
    user_id = _user_id(app, "viewer@acme.test")
    b = browser("admin@acme.test")
    response = _edit(b, user_id, email="consultant@acme.test", password="short")
    assert response.status_code == 200
    assert field_errors(response, "email") and field_errors(response, "password")
    assert _user(app, "viewer@acme.test")["id"] == user_id


def test_admin_deactivates_a_user_who_can_then_no_longer_log_in(app, browser, tenants):
    user_id = _user_id(app, "viewer@acme.test")
    victim = browser("viewer@acme.test")
    b = browser("admin@acme.test")
    assert _edit(b, user_id, active=None).status_code == 302
    assert _user(app, "viewer@acme.test")["active"] is False
    assert victim.get("/admin/").status_code == 302
    assert browser().login("viewer@acme.test").status_code == 200  # refused
    # there is no delete nor import, and the admin cannot deactivate himself
    assert b.post("/admin/users/delete/", {"id": str(user_id)}).status_code == 403
    assert b.get("/admin/users/import/").status_code == 403
    own = _edit(b, _user_id(app, "admin@acme.test"), active=None)
    assert own.status_code == 200 and field_errors(own, "active")
    assert _user(app, "admin@acme.test")["active"] is True


def test_a_user_without_any_role_is_refused(app, browser, tenants):
    b = browser("admin@acme.test")
    response = b.post("/admin/users/new/", {"email": "lonely@acme.test", "locale": "fr", "active": "y",
                                            "password": "a-long-password"})
    assert response.status_code == 200
    assert membership_errors(response) == ["Un utilisateur doit avoir un rôle dans au moins un dossier."]
    assert _user(app, "lonely@acme.test") is None
    # removing the last role of a user is refused too: deactivate him instead
    response = _edit(b, _user_id(app, "viewer@acme.test"), **{"del-memberships-0": "on"})
    assert response.status_code == 200
    assert membership_errors(response) == [
        "Un utilisateur garde un rôle dans au moins un dossier : désactivez-le plutôt."]
    assert _user(app, "viewer@acme.test")["roles"] == [("ACME", "viewer")]


def test_the_form_shows_and_changes_the_administered_memberships_only(app, browser, shared_user, tenants):
    user_id = _user_id(app, shared_user)
    b = browser("admin@acme.test")
    page = b.get(f"/admin/users/edit/?id={user_id}")
    assert "BETA" not in page.get_data(as_text=True)
    assert field_value(page, "memberships-0-tenant") == str(tenants["ACME"])
    assert not parse(page).find("select", id="memberships-1-tenant")
    assert [value for value, _text in options(page, "memberships-0-tenant")] == [str(tenants["ACME"])]

    assert _edit(b, user_id, **{"memberships-0-role": "consultant"}).status_code == 302
    assert _user(app, shared_user)["roles"] == [("ACME", "consultant"), ("BETA", "viewer")]


def test_a_forged_membership_id_or_tenant_never_reaches_another_tenant(app, browser, shared_user, tenants):
    user_id = _user_id(app, shared_user)
    with app.app_context():
        beta_membership = db.session.query(Membership.id).filter_by(
            user_id=user_id, tenant_id=tenants["BETA"]).scalar()
    b = browser("admin@acme.test")
    # BETA is not a valid choice, in the ACME entry or in a new one
    for index in ("0", "1"):
        response = _edit(b, user_id, **{f"memberships-{index}-tenant": str(tenants["BETA"]),
                                        f"memberships-{index}-role": "admin"})
        assert response.status_code == 200
        assert _user(app, shared_user)["roles"] == [("ACME", "backoffice"), ("BETA", "viewer")]
    # the ACME entry posted with the BETA membership's id: a role change, then a deletion
    response = _edit(b, user_id, **{"memberships-0-id": str(beta_membership), "memberships-0-role": "admin"})
    assert response.status_code == 302
    assert _user(app, shared_user)["roles"] == [("ACME", "admin"), ("BETA", "viewer")]
    response = _edit(b, user_id, **{"memberships-0-id": str(beta_membership), "del-memberships-0": "on"})
    assert response.status_code == 302
    assert _user(app, shared_user)["roles"] == [("BETA", "viewer")]


def test_a_user_of_other_tenants_loses_his_role_instead_of_being_deactivated(app, browser, shared_user, tenants):
    user_id = _user_id(app, shared_user)
    b = browser("admin@acme.test")
    response = _edit(b, user_id, active=None)
    assert response.status_code == 200 and field_errors(response, "active")
    assert _user(app, shared_user)["active"] is True
    assert _edit(b, user_id, **{"del-memberships-0": "on"}).status_code == 302
    assert _user(app, shared_user) | {"id": None} == {"id": None, "email": shared_user, "full_name": "",
                                                      "active": True, "roles": [("BETA", "viewer")]}
    # he is no longer one of ACME's users: not listed, not editable
    assert b.get(f"/admin/users/edit/?id={user_id}").status_code == 404


def test_admin_creates_a_user_and_adds_a_role_to_an_existing_one(app, browser, tenants):
    b = browser("admin@acme.test")
    response = b.post("/admin/users/new/", {"email": "Fresh@acme.test", "full_name": "Fresh", "locale": "en",
                                            "active": "y", "password": "a-long-password",
                                            "memberships-0-tenant": str(tenants["ACME"]),
                                            "memberships-0-role": "viewer"})
    assert response.status_code == 302, alerts(response)
    assert _user(app, "fresh@acme.test")["roles"] == [("ACME", "viewer")]
    assert browser().login("fresh@acme.test", "a-long-password").status_code == 302


def test_a_tenant_is_renamed_but_its_code_stays(app, browser, tenants):
    b = browser("admin@acme.test")
    page = b.get(f"/admin/tenants/edit/?id={tenants['ACME']}")
    assert "readonly" in parse(page).find("input", id="code").attrs
    response = b.post(f"/admin/tenants/edit/?id={tenants['ACME']}",
                      {**form_values(page), "code": "HACKED", "name": "Acme Rénovation"})
    assert response.status_code == 302
    with app.app_context():
        tenant = db.session.get(Tenant, tenants["ACME"])
        assert (tenant.code, tenant.name) == ("ACME", "Acme Rénovation")
    # BETA is not his: 404
    assert b.get(f"/admin/tenants/edit/?id={tenants['BETA']}").status_code == 404


# --- Changer mon mot de passe ---------------------------------------------------------------------

def test_every_user_changes_his_own_password(app, browser, tenants):
    other_session = browser("viewer@acme.test")
    b = browser("viewer@acme.test")
    page = b.get("/admin/password/")
    assert page.status_code == 200
    assert "/admin/password/" in [a.attrs.get("href") for a in parse(b.get("/admin/")).find_all("a")]

    def change(current, new, confirmation):
        return b.post("/admin/password/", {"current_password": current, "new_password": new,
                                           "confirmation": confirmation})

    wrong = change("not-my-password", "a-new-long-password", "a-new-long-password")
    assert wrong.status_code == 200 and field_errors(wrong, "current_password") == ["Le mot de passe actuel est faux."]
    short = change(PASSWORD, "short", "short")
    assert short.status_code == 200 and "10" in field_errors(short, "new_password")[0]
    mismatch = change(PASSWORD, "a-new-long-password", "another-long-password")
    assert mismatch.status_code == 200 and field_errors(mismatch, "confirmation")
    assert browser().login("viewer@acme.test").status_code == 302  # nothing changed so far

    done = change(PASSWORD, "a-new-long-password", "a-new-long-password")
    assert done.status_code == 302
    # this session goes on; the others (and copies of their cookie) end
    assert b.get("/admin/").status_code == 200
    assert other_session.get("/admin/").status_code == 302
    assert browser().login("viewer@acme.test").status_code == 200
    assert browser().login("viewer@acme.test", "a-new-long-password").status_code == 302


def test_the_password_page_requires_login(browser, tenants):
    response = browser().get("/admin/password/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
