"""The scheduler as deployed: ``flask --app app scheduler`` processes on the tests' database,
every interval at about a second (``every:1`` fires every second, see conftest)."""
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select

from core.extensions import db
from exchange import runs
from exchange.base import save_connector
from exchange.leader import scheduler_state
from exchange.locking import AlreadyRunning
from models.exchange import Connector, SyncRun
from models.scheduler import APSCHEDULER_JOBS, SchedulerLease, SchedulerProcess

from scheduler_env import REPO_ROOT, WAIT_SECONDS, scheduler_env, wait_for


def _runs(connector_id):
    return db.session.query(SyncRun).filter_by(connector_id=connector_id).order_by(SyncRun.id).all()


def _finished(connector_id, status="success"):
    return [run for run in _runs(connector_id) if run.status == status]


def _pid(run) -> int:
    return int(run.lease_owner.rsplit(":", 2)[1])


def _active_pid():
    lease = db.session.get(SchedulerLease, "scheduler")
    return lease.pid if lease else None


def _job_ids():
    return sorted(db.session.execute(select(APSCHEDULER_JOBS.c.id)).scalars())


def _assert_never_overlapped(connector_id):
    real = [run for run in _runs(connector_id) if run.status != "refused"]
    for before, after in zip(real, real[1:]):
        assert before.finished_at is not None and before.finished_at <= after.started_at, (before.id, after.id)


def _edit(connector_id, enabled=True, **settings):
    connector = db.session.get(Connector, connector_id)
    raw = {**{k: "" if v is None else str(v) for k, v in (connector.settings or {}).items()},
           **{k: str(v) for k, v in settings.items()}}
    saved, errors = save_connector(connector.tenant_id, "test", connector.code, connector.label, enabled, raw,
                                   connector)
    assert not errors, errors
    db.session.commit()


def test_create_app_starts_no_scheduler(app):
    """A web worker (anything built by create_app) never imports nor starts the scheduler."""
    probe = ("import sys, threading\nfrom app import create_app\napp = create_app()\n"
             "with app.test_client() as client: client.get('/login')\n"
             "print('jobs.scheduler' in sys.modules, 'apscheduler.schedulers.background' in sys.modules,"
             " sorted(t.name for t in threading.enumerate()))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO_ROOT, env=scheduler_env(app), text=True,
                         capture_output=True, timeout=WAIT_SECONDS, check=True).stdout
    assert out.strip() == "False False ['MainThread']"
    with app.app_context():
        assert db.session.query(SchedulerLease).count() == 0 and db.session.query(SchedulerProcess).count() == 0


def test_one_active_scheduler_and_a_standby_that_takes_over_after_sigkill(app, app_ctx, make_connector, scheduler):
    connector_id = make_connector(receive_schedule="every:1")
    first = scheduler()
    wait_for(lambda: _active_pid() == first.pid, "the first scheduler to hold the leader lock")
    second = scheduler()
    wait_for(lambda: db.session.query(SchedulerProcess).filter_by(pid=second.pid, role="standby").first(),
             "the second scheduler to wait on standby")
    wait_for(lambda: len(_finished(connector_id)) >= 2, "scheduled runs by the active scheduler")
    assert {_pid(run) for run in _runs(connector_id)} == {first.pid}  # the standby ran nothing
    assert _active_pid() == first.pid
    state = scheduler_state()
    assert state["active"]["pid"] == first.pid and not state["active"]["down"]
    assert [standby["pid"] for standby in state["standbys"]] == [second.pid]

    first.send_signal(signal.SIGKILL)
    first.wait(timeout=WAIT_SECONDS)
    killed_at = time.monotonic()
    wait_for(lambda: _active_pid() == second.pid, "the standby to take over")
    took_over = time.monotonic() - killed_at
    # the lease (2 s) plus a standby poll (0.3 s), with room for a loaded machine
    assert took_over < 15, took_over
    wait_for(lambda: any(_pid(run) == second.pid and run.status == "success" for run in _runs(connector_id)),
             "a scheduled run by the new active scheduler")
    _assert_never_overlapped(connector_id)
    assert all(run.trigger == "scheduled" for run in _runs(connector_id))


def test_a_schedule_edited_while_the_scheduler_runs_takes_effect_without_restart(app, app_ctx, make_connector,
                                                                                 scheduler):
    connector_id = make_connector(receive_schedule="every:3600")
    process = scheduler()
    job = f"connector-{connector_id}-receive"
    wait_for(lambda: _job_ids() == [job], "the job of the connector's schedule")
    time.sleep(1.5)
    assert _runs(connector_id) == []
    _edit(connector_id, receive_schedule="every:1", send_schedule="every:1")
    wait_for(lambda: _finished(connector_id), "a run on the edited schedule")
    wait_for(lambda: _job_ids() == sorted([job, f"connector-{connector_id}-send"]), "the new send job")
    _edit(connector_id, receive_schedule="", send_schedule="every:1")
    wait_for(lambda: _job_ids() == [f"connector-{connector_id}-send"], "the cleared schedule's job removed")
    assert process.poll() is None


def test_disabling_a_connector_removes_its_jobs(app, app_ctx, make_connector, scheduler):
    connector_id = make_connector(receive_schedule="every:1", send_schedule="every:1")
    other_id = make_connector("OTHER", receive_schedule="every:3600")
    scheduler()
    wait_for(lambda: len(_job_ids()) == 3, "three jobs")
    wait_for(lambda: _finished(connector_id), "a scheduled run")
    _edit(connector_id, enabled=False)
    wait_for(lambda: _job_ids() == [f"connector-{other_id}-receive"], "the disabled connector's jobs removed")
    time.sleep(0.5)  # a run already started when it was disabled may still end
    count = len(_runs(connector_id))
    time.sleep(2.5)
    assert len(_runs(connector_id)) == count


def test_a_restart_neither_duplicates_nor_keeps_stale_jobs(app, app_ctx, make_connector, scheduler):
    kept = make_connector("KEPT", receive_schedule="every:1")
    gone = make_connector("GONE", receive_schedule="every:3600")
    first = scheduler()
    wait_for(lambda: _job_ids() == sorted([f"connector-{kept}-receive", f"connector-{gone}-receive"]), "two jobs")
    wait_for(lambda: _finished(kept), "a scheduled run")
    first.send_signal(signal.SIGTERM)  # a clean stop: the lock is freed at once
    assert first.wait(timeout=WAIT_SECONDS) == 0
    assert _active_pid() is None
    assert len(_job_ids()) == 2  # the jobs stay in the job store
    db.session.delete(db.session.get(Connector, gone))
    db.session.commit()
    second = scheduler()
    wait_for(lambda: _active_pid() == second.pid, "the restarted scheduler active")
    wait_for(lambda: _job_ids() == [f"connector-{kept}-receive"], "the deleted connector's job removed")
    before = len(_finished(kept))
    wait_for(lambda: len(_finished(kept)) >= before + 2, "runs after the restart")
    _assert_never_overlapped(kept)
    assert _job_ids() == [f"connector-{kept}-receive"]


def test_a_scheduled_run_while_a_manual_one_holds_the_lease_is_refused_and_reported(app, app_ctx, make_connector,
                                                                                   scheduler):
    hold = Path(app.config["EXCHANGE_ROOT"]) / "hold-manual"
    hold.parent.mkdir(parents=True, exist_ok=True)
    hold.write_text("hold")
    connector_id = make_connector(documents=2, hold_file=hold.name, hold_after=1, receive_schedule="every:1")
    manual = runs.start(db.session.get(Connector, connector_id), "receive", "manual", user_email="manual@acme.test")
    thread = runs.start_in_thread(app, manual, (None, "manual@acme.test"))
    try:
        scheduler()
        refused = wait_for(lambda: _finished(connector_id, "refused"), "a refused scheduled run")[0]
        assert refused.trigger == "scheduled" and refused.lease_key is None
        assert refused.message == f"Non lancé : {AlreadyRunning(manual)}"
        assert db.session.get(SyncRun, manual).status == "running"
        assert db.session.query(SyncRun).filter_by(status="running").count() == 1
    finally:
        hold.unlink()
    thread.join(timeout=WAIT_SECONDS)
    assert db.session.get(SyncRun, manual).status == "success"
    wait_for(lambda: [run for run in _finished(connector_id) if run.trigger == "scheduled"],
             "a scheduled run once the manual one ended")
    _assert_never_overlapped(connector_id)
    assert runs.failed_runs_count(db.session.get(Connector, connector_id).tenant_id) == 0


def test_a_run_taking_over_an_expired_lease_starts_after_the_dead_run_was_closed(app, app_ctx, make_connector):
    """The new run's row is stamped after it closed the dead one (never started before its end)."""
    from datetime import timedelta

    from exchange.locking import acquire, lease_key
    from models.base import utcnow

    connector = db.session.get(Connector, make_connector())
    long_ago = utcnow() - timedelta(minutes=5)
    values = {"tenant_id": connector.tenant_id, "connector_id": connector.id, "direction": "receive",
              "trigger": "scheduled", "status": "running", "lease_owner": "dead", "lease_key": lease_key(
                  connector.id, "receive"), "started_at": long_ago, "heartbeat_at": long_ago,
              "lease_expires_at": long_ago + timedelta(seconds=1)}
    dead = acquire(values)
    # the next run's values were computed before the dead one's lease was found expired
    following = acquire({**values, "lease_owner": "next", "started_at": long_ago + timedelta(seconds=2)})
    db.session.expire_all()
    closed, started = db.session.get(SyncRun, dead), db.session.get(SyncRun, following)
    assert closed.status == "failed" and started.status == "running"
    assert closed.finished_at <= started.started_at
    assert started.lease_expires_at > utcnow()
