"""Test fixtures: the app built by the factory on the database of ``DATABASE_URL``
(a temporary SQLite file by default), migrated with Alembic, emptied between tests."""
import os
import re
import tempfile

import pytest
from flask_migrate import upgrade
from sqlalchemy import text

from app import create_app
from core.extensions import db, limiter
from rules.tenancy import create_tenant, create_user

PASSWORD = "correct-horse-battery"
ROLES = ("admin", "consultant", "backoffice", "viewer")
_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def _database_url(tmp_dir: str) -> str:
    return os.environ.get("DATABASE_URL") or f"sqlite:///{tmp_dir}/test.db"


def _reset_schema() -> None:
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))


@pytest.fixture(scope="session")
def app():
    tmp_dir = tempfile.mkdtemp(prefix="passerelle-tests-")
    app = create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": _database_url(tmp_dir),
        "SECRET_KEY": "test-secret",
        "EXCHANGE_ROOT": os.path.join(tmp_dir, "exchange"),
        "RATELIMIT_STORAGE_URI": "memory://",
    })
    with app.app_context():
        _reset_schema()
        upgrade()
    yield app


@pytest.fixture(autouse=True)
def clean_database(app):
    yield
    with app.app_context():
        db.session.remove()
        tables = [t.name for t in reversed(db.metadata.sorted_tables)]
        with db.engine.begin() as connection:
            if db.engine.dialect.name == "postgresql":
                connection.execute(text("TRUNCATE " + ", ".join(tables) + " RESTART IDENTITY CASCADE"))
            else:
                for name in tables:
                    connection.execute(text(f"DELETE FROM {name}"))
        limiter.reset()


@pytest.fixture
def app_ctx(app):
    with app.app_context():
        yield
        db.session.remove()


@pytest.fixture
def tenants(app):
    """Two tenants, ACME and BETA, and one user per role in each (``<role>@<tenant>.test``)."""
    with app.app_context():
        result = {}
        for code in ("ACME", "BETA"):
            tenant = create_tenant(code, f"{code} Bâtiment")
            for role in ROLES:
                create_user(f"{role}@{code.lower()}.test", PASSWORD, [(tenant, role)])
            result[code] = tenant.id
        db.session.commit()
        return result


class Browser:
    """A test client that logs in and posts forms with the session's CSRF token."""

    def __init__(self, client):
        self.client = client
        self._token = None

    def token(self) -> str:
        if self._token is None:
            page = self.client.get("/login").get_data(as_text=True)
            match = _CSRF.search(page)
            self._token = match.group(1) or match.group(2)
        return self._token

    def login(self, email: str, password: str = PASSWORD):
        response = self.client.post("/login", data={"email": email, "password": password,
                                                    "csrf_token": self.token()})
        self._token = None  # logging in starts a new session, hence a new CSRF token
        return response

    def get(self, url, **kwargs):
        return self.client.get(url, **kwargs)

    def post(self, url, data=None, **kwargs):
        data = dict(data or {})
        data.setdefault("csrf_token", self.token())
        return self.client.post(url, data=data, **kwargs)


@pytest.fixture
def browser(app):
    def make(email: str | None = None) -> Browser:
        b = Browser(app.test_client())
        if email:
            response = b.login(email)
            assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return b
    return make
