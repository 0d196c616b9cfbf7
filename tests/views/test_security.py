"""Security checks of quality.md: CSRF on every state-changing form (S2), stored
scripts rendered escaped (S5), login (S8): hashed passwords, throttled failures,
cookie flags."""
from urllib.parse import urlsplit

import pytest

from core.config import build_config
from core.extensions import db
from models import AuditLogEntry, DossierSettings, OperationCode, Tenant, Unit, User
from rules.tenancy import create_user
from html_page import form_values, parse
from param_rows import add_row

PASSWORD = "correct-horse-battery"
XSS = '<script>alert("xss-1")</script>'
XSS_ESCAPED = "&lt;script&gt;alert("


def _logged_in(b) -> bool:
    return b.get("/admin/").status_code == 200


def _units(app, tenant_id):
    with app.app_context():
        return {u.code: u.label for u in db.session.query(Unit).filter_by(tenant_id=tenant_id)}


# --- S2: CSRF ---------------------------------------------------------------------------------

def _build(rule) -> str:
    """A URL of the rule, its arguments filled in (``xlsx`` for an export type, 1 for an id)."""
    try:
        return rule.build({name: "xlsx" for name in rule.arguments}, append_unknown=False)[1]
    except ValueError:
        return rule.build({name: 1 for name in rule.arguments}, append_unknown=False)[1]


def test_every_post_route_rejects_a_missing_or_wrong_csrf_token(app, browser, tenants):
    admin = browser("admin@acme.test")
    other = browser("consultant@acme.test")
    # webhooks (/hooks/…) authenticate by token, not session, and have no CSRF token (interfaces.md)
    posts = [rule for rule in app.url_map.iter_rules() if "POST" in rule.methods and not rule.rule.startswith("/hooks/")]
    assert len(posts) > 50
    for rule in posts:
        path = _build(rule)
        data = {"id": "1", "code": "X", "label": "X", "action": "delete", "rowid": "1"}
        assert admin.client.post(path + "?id=1", data=data).status_code == 400, path
        assert admin.client.post(path + "?id=1", data={**data, "csrf_token": "forged"}).status_code == 400, path
        # a valid token of another session is no better
        assert admin.client.post(path + "?id=1", data={**data, "csrf_token": other.token()}).status_code == 400, path


def test_model_forms_without_token_change_nothing(app, browser, tenants):
    with app.app_context():
        unit_id = add_row(Unit, tenants["ACME"], "U1", "Original").id
    b = browser("consultant@acme.test")
    post = b.client.post
    assert post("/admin/units/new/", data={"code": "NEW", "label": "New"}).status_code == 400
    assert post(f"/admin/units/edit/?id={unit_id}", data={"code": "U1", "label": "Changed"}).status_code == 400
    assert post("/admin/units/delete/", data={"id": str(unit_id)}).status_code == 400
    assert post("/admin/units/action/", data={"action": "delete", "rowid": str(unit_id)}).status_code == 400
    assert _units(app, tenants["ACME"]) == {"U1": "Original"}
    # with the token, the same requests work (the 400 above is the token, not the data)
    assert b.post(f"/admin/units/edit/?id={unit_id}", {"code": "U1", "label": "Changed"}).status_code == 302
    assert _units(app, tenants["ACME"]) == {"U1": "Changed"}


def test_dossier_settings_without_token_change_nothing(app, browser, tenants):
    b = browser("consultant@acme.test")
    data = form_values(b.get("/admin/dossier-settings/"), "dossier-settings-form")
    data.pop("csrf_token")
    data["labour_nature_prefix"] = "9XX"
    assert b.client.post("/admin/dossier-settings/", data=data).status_code == 400
    with app.app_context():
        settings = db.session.query(DossierSettings).filter_by(tenant_id=tenants["ACME"]).one()
        assert settings.labour_nature_prefix == "4MO"


def test_login_without_token_is_refused(browser, tenants):
    b = browser()
    response = b.client.post("/login", data={"email": "admin@acme.test", "password": PASSWORD})
    assert response.status_code == 400
    assert not _logged_in(b)
    assert b.login("admin@acme.test").status_code == 302  # the same with the token logs in
    assert _logged_in(b)


def test_logout_without_token_is_refused(browser, tenants):
    b = browser("viewer@acme.test")
    assert b.client.post("/logout").status_code == 400
    assert _logged_in(b)
    assert b.post("/logout").status_code == 302
    assert not _logged_in(b)


def test_logout_by_a_plain_link_does_not_log_out(browser, tenants):
    """Logging out changes state: only the POST form (with its token) does it, not a GET
    that any other site could trigger with a link or an image."""
    b = browser("viewer@acme.test")
    b.get("/logout")
    assert _logged_in(b)


def test_tenant_switch_without_token_is_refused(app, browser, tenants):
    with app.app_context():
        acme, beta = db.session.get(Tenant, tenants["ACME"]), db.session.get(Tenant, tenants["BETA"])
        create_user("multi@both.test", PASSWORD, [(acme, "viewer"), (beta, "viewer")])
        add_row(Unit, tenants["ACME"], "A1")
        add_row(Unit, tenants["BETA"], "B1")
    b = browser("multi@both.test")
    assert b.client.post("/tenant", data={"tenant_id": str(tenants["BETA"])}).status_code == 400
    page = b.get("/admin/units/").get_data(as_text=True)
    assert "A1" in page and "B1" not in page
    assert b.post("/tenant", {"tenant_id": str(tenants["BETA"])}).status_code == 302
    assert "B1" in b.get("/admin/units/").get_data(as_text=True)


def test_language_without_token_is_refused(app, browser, tenants):
    b = browser("viewer@acme.test")
    assert b.client.post("/language", data={"locale": "en", "next": "/admin/"}).status_code == 400
    with app.app_context():
        assert db.session.query(User.locale).filter_by(email="viewer@acme.test").scalar() == "fr"
    assert b.post("/language", {"locale": "en", "next": "/admin/"}).status_code == 302
    with app.app_context():
        assert db.session.query(User.locale).filter_by(email="viewer@acme.test").scalar() == "en"


# --- S8: login ------------------------------------------------------------------------------------

def _attempt(app, email, password, address="10.0.0.1"):
    """One login attempt from ``address`` in a fresh session (new CSRF token)."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    page = client.get("/login").get_data(as_text=True)
    token = parse(page).find("input", name="csrf_token").attrs["value"]
    response = client.post("/login", data={"email": email, "password": password, "csrf_token": token})
    response.client_used = client
    return response


def test_ten_failures_for_an_email_throttle_it_even_with_the_right_password(app, tenants):
    for attempt in range(10):  # ten failures, each from another address
        assert _attempt(app, "viewer@acme.test", "wrong-password", f"10.0.1.{attempt}").status_code == 200
    response = _attempt(app, "viewer@acme.test", PASSWORD, "10.0.2.1")
    assert response.status_code == 429
    assert response.client_used.get("/admin/").status_code == 302  # not logged in
    # the email is throttled whatever the case or spaces; another email is not
    assert _attempt(app, "  Viewer@ACME.test ", PASSWORD, "10.0.2.3").status_code == 429
    assert _attempt(app, "consultant@acme.test", PASSWORD, "10.0.2.4").status_code == 302


def test_ten_failures_from_an_address_lock_neither_it_nor_the_other_accounts(app, tenants):
    """The address limit is 100 (tests/views/test_sessions.py): an office shares its address."""
    for attempt in range(10):
        assert _attempt(app, f"nobody{attempt}@acme.test", "wrong-password", "10.0.3.1").status_code == 200
    assert _attempt(app, "viewer@acme.test", PASSWORD, "10.0.3.1").status_code == 302


def test_nine_failures_still_let_the_right_password_in_and_successes_are_not_counted(app, tenants):
    for _ in range(9):
        assert _attempt(app, "viewer@acme.test", "wrong-password").status_code == 200
    for _ in range(5):
        assert _attempt(app, "viewer@acme.test", PASSWORD).status_code == 302
    assert _attempt(app, "viewer@acme.test", "wrong-password").status_code == 200  # the tenth failure
    assert _attempt(app, "viewer@acme.test", PASSWORD).status_code == 429


def test_the_throttle_lasts_fifteen_minutes(app, tenants, monkeypatch):
    import limits.storage.memory as memory
    from core.extensions import limiter

    if not isinstance(limiter.storage, memory.MemoryStorage):
        pytest.skip("the clock can only be moved for the in-memory limiter storage")
    real_time = memory.time.time
    offset = {"seconds": 0}

    class Clock:
        @staticmethod
        def time():
            return real_time() + offset["seconds"]

    monkeypatch.setattr(memory, "time", Clock)
    for _ in range(10):
        _attempt(app, "viewer@acme.test", "wrong-password")
    offset["seconds"] = 14 * 60
    assert _attempt(app, "viewer@acme.test", PASSWORD).status_code == 429
    offset["seconds"] = 15 * 60 + 5
    assert _attempt(app, "viewer@acme.test", PASSWORD).status_code == 302


def test_wrong_passwords_and_unknown_emails_get_the_same_answer(app, tenants):
    wrong = _attempt(app, "viewer@acme.test", "wrong-password", "10.0.4.1")
    unknown = _attempt(app, "ghost@acme.test", "wrong-password", "10.0.4.2")
    assert wrong.status_code == unknown.status_code == 200
    assert "invalid-feedback" in wrong.get_data(as_text=True)
    assert [e.text for e in parse(wrong).find_all("div", "invalid-feedback")] == \
        [e.text for e in parse(unknown).find_all("div", "invalid-feedback")]


def test_inactive_users_cannot_log_in(app, browser, tenants):
    with app.app_context():
        db.session.query(User).filter_by(email="viewer@acme.test").one().active = False
        db.session.commit()
    assert browser().login("viewer@acme.test").status_code == 200


def test_passwords_are_stored_hashed_with_scrypt(app, browser, tenants):
    b = browser("admin@acme.test")
    b.post("/admin/users/new/", {"email": "screen@acme.test", "locale": "fr", "active": "y",
                                 "password": "typed-in-the-screen", "memberships-0-tenant": str(tenants["ACME"]),
                                 "memberships-0-role": "viewer"})
    with app.app_context():
        users = db.session.query(User).all()
        assert len(users) == 9
        for user in users:
            assert user.password_hash.startswith("scrypt:"), user.email
            assert PASSWORD not in user.password_hash and "typed-in-the-screen" not in user.password_hash
        assert db.session.query(User).filter_by(email="screen@acme.test").one().check_password("typed-in-the-screen")
        # two users with the same password get different hashes (salted)
        hashes = [u.password_hash for u in users if u.check_password(PASSWORD)]
        assert len(hashes) == 8 and len(set(hashes)) == 8


def test_session_cookie_is_httponly_and_samesite_lax(browser, tenants):
    response = browser().login("viewer@acme.test")
    cookies = [value for name, value in response.headers.items() if name == "Set-Cookie"]
    session = [cookie for cookie in cookies if cookie.startswith("session=")]
    assert session, cookies
    assert "HttpOnly" in session[0]
    assert "SameSite=Lax" in session[0]


def test_session_cookie_is_secure_in_production(monkeypatch):
    monkeypatch.setenv("PASSERELLE_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "production-secret")
    config = build_config()
    assert config["SESSION_COOKIE_SECURE"] and config["REMEMBER_COOKIE_SECURE"]
    assert config["SESSION_COOKIE_HTTPONLY"] and config["SESSION_COOKIE_SAMESITE"] == "Lax"
    monkeypatch.setenv("PASSERELLE_ENV", "development")
    assert build_config()["SESSION_COOKIE_SECURE"] is False


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "http:evil.example"])
def test_login_never_redirects_to_another_site(browser, tenants, target):
    b = browser()
    b.client.get(f"/login?next={target}")
    response = b.client.post(f"/login?next={target}", data={"email": "viewer@acme.test", "password": PASSWORD,
                                                             "csrf_token": b.token()})
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.netloc in ("", "localhost") and location.path == "/admin/"


# --- S5: stored scripts -----------------------------------------------------------------------------

def _assert_escaped(response, where):
    page = response.get_data(as_text=True)
    assert response.status_code == 200, where
    assert XSS not in page, where
    assert XSS_ESCAPED in page, where


def test_a_stored_script_in_a_label_is_escaped_everywhere(app, browser, tenants):
    b = browser("consultant@acme.test")
    assert b.post("/admin/units/new/", {"code": "XSS", "label": XSS}).status_code == 302
    with app.app_context():
        unit_id = db.session.query(Unit.id).filter_by(code="XSS").scalar()
        entry_id = db.session.query(AuditLogEntry.id).filter_by(table_name="units", field="label").scalar()
    _assert_escaped(b.get("/admin/units/"), "list")
    _assert_escaped(b.get(f"/admin/units/details/?id={unit_id}"), "details")
    edit = b.get(f"/admin/units/edit/?id={unit_id}")
    _assert_escaped(edit, "edit form")
    assert parse(edit).find("input", id="label").attrs["value"] == XSS  # shown as text, kept as typed
    _assert_escaped(b.get("/admin/audit-log/"), "audit log")
    _assert_escaped(b.get(f"/admin/audit-log/details/?id={entry_id}"), "audit details")
    _assert_escaped(b.get("/admin/units/?search=xss"), "search")


def test_stored_scripts_in_relation_labels_settings_and_messages_are_escaped(app, browser, tenants):
    with app.app_context():
        credit_note = add_row(OperationCode, tenants["ACME"], "<b>AV</b>", XSS, document_type="credit_note")
        add_row(OperationCode, tenants["ACME"], "FA", "Facture", document_type="invoice", billable=True,
                credit_note_operation_code_id=credit_note.id)
        settings = db.session.query(DossierSettings).filter_by(tenant_id=tenants["ACME"]).one()
        settings.header_text = XSS
        db.session.get(Tenant, tenants["ACME"]).name = XSS
        db.session.commit()
        credit_note_id = credit_note.id
    b = browser("consultant@acme.test")
    _assert_escaped(b.get("/admin/operation-codes/new/"), "relation select")
    _assert_escaped(b.get("/admin/operation-codes/"), "relation column of the list")
    _assert_escaped(b.get("/admin/dossier-settings/"), "settings text and navigation bar")
    # the refusal to delete a used code names the code: escaped in the message too
    b.post("/admin/operation-codes/delete/", {"id": str(credit_note_id)})
    page = b.get("/admin/operation-codes/").get_data(as_text=True)
    assert "&lt;b&gt;AV&lt;/b&gt;" in page and "<b>AV</b>" not in page
