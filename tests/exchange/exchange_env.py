"""The environment of a ``flask --app app`` process working on the tests' database."""
import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
LEASE_SECONDS = 1.0
HEARTBEAT_SECONDS = 0.25


def flask_env(app) -> dict:
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "SECRET_KEY": app.config["SECRET_KEY"],
        "EXCHANGE_ROOT": app.config["EXCHANGE_ROOT"], "PASSERELLE_TEST_KIND": "1",
        "EXCHANGE_LEASE_SECONDS": str(LEASE_SECONDS), "EXCHANGE_HEARTBEAT_SECONDS": str(HEARTBEAT_SECONDS),
    })
    return env
