"""Scheduler fixtures: every interval at about a second, connectors of the test kind, and
``flask --app app scheduler`` started as real processes on the tests' database."""
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from core.extensions import db
from exchange.base import save_connector

from scheduler_env import INTERVALS, REPO_ROOT, WAIT_SECONDS, scheduler_env


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
