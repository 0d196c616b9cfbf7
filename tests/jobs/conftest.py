"""Scheduler fixtures: every interval at about a second, connectors of the test kind, and
``flask --app app scheduler`` started as real processes on the tests' database."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.extensions import db
from exchange.base import save_connector

REPO_ROOT = Path(__file__).resolve().parents[2]
WAIT_SECONDS = 60  # an upper bound for a loaded machine, never a measured duration
INTERVALS = {
    "EXCHANGE_LEASE_SECONDS": 1.0, "EXCHANGE_HEARTBEAT_SECONDS": 0.25,
    "SCHEDULER_LEASE_SECONDS": 2.0, "SCHEDULER_HEARTBEAT_SECONDS": 0.3,
    "SCHEDULER_STANDBY_POLL_SECONDS": 0.3, "SCHEDULER_RECONCILE_SECONDS": 0.5,
    "SCHEDULER_INTERVAL_UNIT_SECONDS": 1.0,  # every:1 fires every second
    "SCHEDULER_MISFIRE_GRACE_SECONDS": 5,
}


@pytest.fixture(autouse=True)
def short_intervals(app):
    saved = {key: app.config[key] for key in INTERVALS}
    app.config.update(INTERVALS)
    yield
    app.config.update(saved)


@pytest.fixture
def bare_tenants(app):
    """ACME and BETA without users (the engines need none; hashing passwords is slow)."""
    from rules.tenancy import create_tenant
    with app.app_context():
        result = {code: create_tenant(code, f"{code} Bâtiment").id for code in ("ACME", "BETA")}
        db.session.commit()
        return result


@pytest.fixture
def make_connector(app, bare_tenants):
    def make(code="TST", tenant="ACME", enabled=True, **settings):
        with app.app_context():
            raw = {"documents": "1", **{name: str(value) for name, value in settings.items()}}
            connector, errors = save_connector(bare_tenants[tenant], "test", code, f"Connecteur {code}", enabled,
                                               raw)
            assert not errors, errors
            db.session.commit()
            return connector.id
    return make


def scheduler_env(app) -> dict:
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "SECRET_KEY": app.config["SECRET_KEY"],
        "EXCHANGE_ROOT": app.config["EXCHANGE_ROOT"], "PASSERELLE_TEST_KIND": "1",
        **{key: str(value) for key, value in INTERVALS.items()},
    })
    return env


@pytest.fixture
def scheduler(app, tmp_path):
    """Start ``flask --app app scheduler`` (output in a file, shown when a test fails)."""
    processes = []

    def start() -> subprocess.Popen:
        log = open(tmp_path / f"scheduler-{len(processes)}.log", "w")
        process = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "scheduler"], cwd=REPO_ROOT,
                                   env=scheduler_env(app), stdout=log, stderr=subprocess.STDOUT)
        process.log_path = log.name
        processes.append((process, log))
        return process
    yield start
    for process, log in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        process.wait(timeout=WAIT_SECONDS)
        log.close()
        print(f"--- {log.name}\n{Path(log.name).read_text()[-3000:]}")


def wait_for(condition, what: str, timeout: float = WAIT_SECONDS):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.session.expire_all()
        value = condition()
        db.session.rollback()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"still waiting for {what}")
