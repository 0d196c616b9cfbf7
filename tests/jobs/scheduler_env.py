"""What the scheduler tests share: the intervals (about a second), the environment of a
``flask --app app scheduler`` process on the tests' database, and waiting for a state."""
import os
import time
from pathlib import Path

from core.extensions import db

REPO_ROOT = Path(__file__).resolve().parents[2]
WAIT_SECONDS = 60  # an upper bound for a loaded machine, never a measured duration
INTERVALS = {
    "EXCHANGE_LEASE_SECONDS": 1.0, "EXCHANGE_HEARTBEAT_SECONDS": 0.25,
    "SCHEDULER_LEASE_SECONDS": 2.0, "SCHEDULER_HEARTBEAT_SECONDS": 0.3,
    "SCHEDULER_STANDBY_POLL_SECONDS": 0.3, "SCHEDULER_RECONCILE_SECONDS": 0.5,
    "SCHEDULER_INTERVAL_UNIT_SECONDS": 1.0,  # every:1 fires every second
    "SCHEDULER_MISFIRE_GRACE_SECONDS": 5,
}


def scheduler_env(app) -> dict:
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "SECRET_KEY": app.config["SECRET_KEY"],
        "EXCHANGE_ROOT": app.config["EXCHANGE_ROOT"], "PASSERELLE_TEST_KIND": "1",
        **{key: str(value) for key, value in INTERVALS.items()},
    })
    return env


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
