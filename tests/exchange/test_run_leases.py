"""Leases across real processes: ``flask --app app exchange run`` started twice at once,
and a run killed with SIGKILL, then closed by the next one (intervals: about a second)."""
import json
import signal
import time
from pathlib import Path

from core.extensions import db
from exchange.locking import INTERRUPTED, AlreadyRunning
from models import Client
from models.base import utcnow
from models.exchange import SyncRun

WAIT_SECONDS = 60  # an upper bound for a loaded machine, never a measured duration


def _wait_for(condition, what: str):
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        db.session.expire_all()
        value = condition()
        if value:
            return value
        db.session.rollback()
        time.sleep(0.1)
    raise AssertionError(f"still waiting for {what}")


def _running_run():
    return db.session.query(SyncRun).filter_by(status="running").first()


def _hold(app) -> Path:
    """A file that holds the test kind's run in the middle while it exists."""
    path = Path(app.config["EXCHANGE_ROOT"]) / "hold"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("hold")
    return path


def test_a_second_process_is_told_already_running_and_the_first_completes(app, app_ctx, make_connector, flask_cli):
    hold = _hold(app)
    make_connector(documents=4, hold_file="hold", hold_after=1)
    first = flask_cli("exchange", "run", "TST", "--tenant", "ACME", "--direction", "receive", "--json")
    _wait_for(_running_run, "the first run to hold its lease")
    second = flask_cli("exchange", "run", "TST", "--tenant", "ACME", "--direction", "receive", "--json")
    out, err = second.communicate(timeout=WAIT_SECONDS)
    assert second.returncode == 1, err
    running_id = _running_run().id
    assert json.loads(out) == {"status": "refused", "message": str(AlreadyRunning(running_id)), "counts": {},
                               "items": []}
    hold.unlink()
    out, err = first.communicate(timeout=WAIT_SECONDS)
    assert first.returncode == 0, err
    assert json.loads(out)["counts"]["ok"] == 4
    assert db.session.query(SyncRun).count() == 1


def test_a_killed_run_is_closed_as_failed_by_the_next_one_which_completes(app, app_ctx, tenants, make_connector,
                                                                        flask_cli):
    hold = _hold(app)
    make_connector(documents=6, hold_file="hold", hold_after=2)
    victim = flask_cli("exchange", "run", "TST", "--tenant", "ACME", "--direction", "receive")
    killed = _wait_for(lambda: db.session.query(SyncRun).filter(SyncRun.status == "running",
                                                                SyncRun.processed >= 2).first(),
                       "the run to integrate its first documents")
    victim.send_signal(signal.SIGKILL)
    victim.communicate(timeout=WAIT_SECONDS)
    hold.unlink()
    _wait_for(lambda: db.session.get(SyncRun, killed.id).lease_expires_at < utcnow(), "the lease to expire")
    following = flask_cli("exchange", "run", "TST", "--tenant", "ACME", "--direction", "receive", "--json")
    out, err = following.communicate(timeout=WAIT_SECONDS)
    assert following.returncode == 0, err
    db.session.expire_all()
    closed = db.session.get(SyncRun, killed.id)
    assert closed.status == "failed" and closed.message == str(INTERRUPTED)
    report = json.loads(out)
    # every document is integrated whole or not at all: the rerun skips what the victim committed
    codes = sorted(code for (code,) in db.session.query(Client.code).filter_by(tenant_id=tenants["ACME"]))
    assert codes == [f"TST-{n:03d}" for n in range(1, 7)]
    assert report["counts"]["ok"] + report["counts"]["skipped"] == 6
    assert report["counts"]["skipped"] == 2 and report["counts"]["ok"] == 4
