"""Exchange fixtures: intervals at about a second, a connector of the test kind, and the
``flask --app app`` command line as a real process on the tests' database."""
import subprocess
import sys

import pytest

from core.extensions import db
from exchange.base import save_connector

from exchange_env import HEARTBEAT_SECONDS, LEASE_SECONDS, REPO_ROOT, flask_env


@pytest.fixture(autouse=True)
def short_intervals(app):
    saved = {key: app.config[key] for key in ("EXCHANGE_LEASE_SECONDS", "EXCHANGE_HEARTBEAT_SECONDS")}
    app.config.update(EXCHANGE_LEASE_SECONDS=LEASE_SECONDS, EXCHANGE_HEARTBEAT_SECONDS=HEARTBEAT_SECONDS)
    yield
    app.config.update(saved)


@pytest.fixture
def tenants(app):
    """ACME and BETA without users (the engines need none; hashing passwords is slow)."""
    from rules.tenancy import create_tenant
    with app.app_context():
        result = {code: create_tenant(code, f"{code} Bâtiment").id for code in ("ACME", "BETA")}
        db.session.commit()
        return result


@pytest.fixture
def make_connector(app, tenants):
    def make(code="TST", tenant="ACME", **settings):
        with app.app_context():
            raw = {"documents": "3", **{name: str(value) for name, value in settings.items()}}
            connector, errors = save_connector(tenants[tenant], "test", code, f"Connecteur {code}", True, raw)
            assert not errors, errors
            db.session.commit()
            return connector.id
    return make


@pytest.fixture
def flask_cli(app):
    """Start ``flask --app app ARGS`` as a process of its own (``Popen``)."""
    processes = []

    def start(*args) -> subprocess.Popen:
        process = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", *args], cwd=REPO_ROOT,
                                   env=flask_env(app), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        processes.append(process)
        return process
    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.communicate()
