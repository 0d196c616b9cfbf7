"""Sessions that end and a throttle that spares the office (quality.md S10; issue 7,
items 10 and 11): a session cookie copied before logout or before a password change
opens nothing afterwards; failed logins lock one account at 10, one address at 100; the
client's address is read from X-Forwarded-For only when ``PROXY_FIX_X_FOR`` says so."""
import os
import tempfile

import pytest

from app import create_app
from core.extensions import db
from html_page import parse
from models import User

PASSWORD = "correct-horse-battery"


def _session_cookie(client) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def _with_cookie(app, value):
    """A new client (another machine) holding a copy of a session cookie."""
    thief = app.test_client()
    thief.set_cookie("session", value)
    return thief


def _opens(client) -> bool:
    response = client.get("/admin/units/")
    if response.status_code == 302:
        assert "/login" in response.headers["Location"]
        return False
    assert response.status_code == 200
    return True


def test_a_cookie_copied_before_logout_is_worthless_after(app, browser, tenants):
    b = browser("viewer@acme.test")
    copied = _session_cookie(b.client)
    assert _opens(_with_cookie(app, copied))
    assert b.post("/logout").status_code == 302
    assert not _opens(b.client)
    assert not _opens(_with_cookie(app, copied))
    # logging in again opens a new session; the old copy stays worthless
    assert browser("viewer@acme.test").get("/admin/units/").status_code == 200
    assert not _opens(_with_cookie(app, copied))


def test_a_password_change_ends_the_other_sessions_and_keeps_this_one(app, browser, tenants):
    b = browser("viewer@acme.test")
    copied = _session_cookie(b.client)
    response = b.post("/admin/password/", {"current_password": PASSWORD, "new_password": "another-long-one",
                                           "confirmation": "another-long-one"})
    assert response.status_code == 302
    assert _opens(b.client)
    assert not _opens(_with_cookie(app, copied))


def test_a_password_reset_by_the_admin_ends_the_users_sessions(app, browser, tenants):
    victim = browser("viewer@acme.test")
    with app.app_context():
        user = db.session.query(User).filter_by(email="viewer@acme.test").one()
        user.set_password("reset-by-the-admin")
        db.session.commit()
    assert not _opens(victim.client)


def test_a_session_of_a_user_id_without_its_version_is_refused(app, browser, tenants):
    """A session written before session versions existed (user id only) is not accepted."""
    b = browser("viewer@acme.test")
    with b.client.session_transaction() as session:
        session["_user_id"] = session["_user_id"].partition(":")[0]
    assert not _opens(b.client)


# --- S10: the throttle spares the other accounts behind one address -------------------------------

def _attempt(client, email, password, **headers):
    token = getattr(client, "csrf_token", None)
    if token is None:  # one CSRF token per client: a failed login keeps the session
        page = client.get("/login").get_data(as_text=True)
        token = client.csrf_token = parse(page).find("input", name="csrf_token").attrs["value"]
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token},
                       headers=headers)


def _client(app, address):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_a_locked_account_does_not_lock_the_others_behind_the_same_address(app, tenants):
    office = _client(app, "10.9.0.1")
    for _ in range(10):
        assert _attempt(office, "viewer@acme.test", "wrong-password").status_code == 200
    assert _attempt(office, "viewer@acme.test", PASSWORD).status_code == 429
    for role in ("admin", "consultant", "backoffice"):
        assert _attempt(_client(app, "10.9.0.1"), f"{role}@acme.test", PASSWORD).status_code == 302, role


def test_an_address_is_locked_at_100_failures_whatever_x_forwarded_for_says(app, tenants):
    """Without ``PROXY_FIX_X_FOR`` the header is ignored: a client cannot escape the address
    limit by forging it."""
    assert not app.config["PROXY_FIX_X_FOR"]
    office = _client(app, "10.9.0.2")
    for attempt in range(100):  # unknown accounts: each is below its own limit
        response = _attempt(office, f"nobody{attempt}@acme.test", "wrong",
                            **{"X-Forwarded-For": f"192.0.2.{attempt}"})
        assert response.status_code == 200, attempt
    assert _attempt(_client(app, "10.9.0.2"), "viewer@acme.test", PASSWORD,
                    **{"X-Forwarded-For": "192.0.2.200"}).status_code == 429
    assert _attempt(_client(app, "10.9.0.3"), "viewer@acme.test", PASSWORD).status_code == 302


@pytest.fixture
def proxied_app(app, monkeypatch):
    """The application as deployed behind one proxy (``PROXY_FIX_X_FOR=1``, from the
    environment as in production), on the tests' database."""
    monkeypatch.setenv("PROXY_FIX_X_FOR", "1")
    proxied = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                          "SECRET_KEY": "test-secret", "RATELIMIT_STORAGE_URI": "memory://",
                          "EXCHANGE_ROOT": os.path.join(tempfile.gettempdir(), "passerelle-proxied")})
    assert proxied.config["PROXY_FIX_X_FOR"] == 1
    return proxied


def test_behind_a_configured_proxy_each_client_address_is_counted(proxied_app, tenants):
    proxy = "10.9.0.5"  # every request comes from the proxy; X-Forwarded-For names the client
    client = _client(proxied_app, proxy)
    for attempt in range(100):
        response = _attempt(client, f"nobody{attempt}@acme.test", "wrong",
                            **{"X-Forwarded-For": "198.51.100.7"})
        assert response.status_code == 200
    assert _attempt(_client(proxied_app, proxy), "viewer@acme.test", PASSWORD,
                    **{"X-Forwarded-For": "198.51.100.7"}).status_code == 429
    assert _attempt(_client(proxied_app, proxy), "viewer@acme.test", PASSWORD,
                    **{"X-Forwarded-For": "198.51.100.8"}).status_code == 302
