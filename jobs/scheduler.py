"""The scheduler process (``flask --app app scheduler``): APScheduler 3 on the
application database, active in one process at a time.

The process loops: on standby it polls the leader lock (``exchange.leader``) every
``SCHEDULER_STANDBY_POLL_SECONDS``; once it holds it, it starts a
``BackgroundScheduler`` whose jobs live in the SQLAlchemy job store
(``apscheduler_jobs``), beats every ``SCHEDULER_HEARTBEAT_SECONDS`` and reconciles
the jobs with the connectors' schedules (``exchange.schedules.wanted_jobs``, the
source of truth) at start and every ``SCHEDULER_RECONCILE_SECONDS``: a job per
enabled connector and scheduled direction, id ``connector-<id>-<direction>``,
added, replaced when its schedule changed, removed when the schedule was cleared
or the connector disabled or deleted. Losing the lock stops APScheduler at once
(back to standby). A job is thin: the connector's lease and engine through
``exchange.runs`` like a manual run; refused while another run holds the lease,
it is recorded as a ``refused`` run (``exchange.runs.record_refused``).

Nothing here runs in a web worker: ``create_app`` never imports this module.
"""
import logging
import signal
import threading
import time

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from core.clock import BUSINESS_TIMEZONE
from core.extensions import db
from exchange import leader, runs
from exchange.schedules import parse, wanted_jobs
from models.exchange import Connector

logger = logging.getLogger(__name__)
JOBS_TABLE = "apscheduler_jobs"
JOB_PREFIX = "connector-"
SCHEDULER_ACTOR = (None, "scheduler")
_app = None  # the application of this process, for the jobs APScheduler runs in its threads


def run_scheduled(connector_id: int, direction: str, schedule: str = "") -> str | None:
    """The job of one connector and direction: a ``scheduled`` run through the same start
    and engine as a manual run; its final status, ``refused`` or None (nothing to run)."""
    with _app.app_context():
        try:
            connector = db.session.get(Connector, connector_id)
            if connector is None or not connector.enabled:
                logger.info("job %s-%s: connector gone or disabled, nothing run", connector_id, direction)
                return None
            try:
                run_id = runs.start(connector, direction, trigger="scheduled", user_email=SCHEDULER_ACTOR[1])
            except runs.AlreadyRunning as busy:
                logger.warning("connector %s %s: scheduled run refused: %s", connector.code, direction, busy)
                runs.record_refused(connector, direction, "scheduled", str(busy), SCHEDULER_ACTOR[1])
                return "refused"
            except runs.RunRefused as refused:
                logger.warning("connector %s %s: scheduled run refused: %s", connector.code, direction, refused)
                return None
            status = runs.perform(run_id, SCHEDULER_ACTOR)
            logger.info("connector %s %s: scheduled run #%s %s", connector.code, direction, run_id, status)
            return status
        finally:
            db.session.remove()


def reconcile(scheduler, unit_seconds: float, misfire_grace: int) -> dict:
    """Make the scheduler's connector jobs those the connectors want; the changes made."""
    wanted = wanted_jobs()
    db.session.remove()
    changes = {"added": [], "changed": [], "removed": []}
    existing = {job.id: job for job in scheduler.get_jobs() if job.id.startswith(JOB_PREFIX)}
    for job_id in sorted(set(existing) - set(wanted)):
        scheduler.remove_job(job_id)
        changes["removed"].append(job_id)
    for job_id, (connector_id, direction, schedule) in wanted.items():
        job = existing.get(job_id)
        if job is not None and job.kwargs.get("schedule") == schedule and job.args == (connector_id, direction):
            continue
        scheduler.add_job(run_scheduled, trigger=parse(schedule, unit_seconds), id=job_id,
                          name=f"{job_id}: {schedule}", args=(connector_id, direction),
                          kwargs={"schedule": schedule}, replace_existing=True, coalesce=True,
                          max_instances=1, misfire_grace_time=misfire_grace)
        changes["changed" if job is not None else "added"].append(job_id)
    if any(changes.values()):
        logger.info("scheduler: jobs reconciled %s", changes)
    return changes


class SchedulerProcess:
    """One scheduler process: standby until it holds the leader lock, then active."""

    def __init__(self, app):
        global _app
        _app = app
        config = app.config
        self.app = app
        self.lease = float(config["SCHEDULER_LEASE_SECONDS"])
        self.heartbeat = float(config["SCHEDULER_HEARTBEAT_SECONDS"])
        self.poll = float(config["SCHEDULER_STANDBY_POLL_SECONDS"])
        self.reconcile_every = float(config["SCHEDULER_RECONCILE_SECONDS"])
        self.unit = float(config["SCHEDULER_INTERVAL_UNIT_SECONDS"])
        self.grace = int(config["SCHEDULER_MISFIRE_GRACE_SECONDS"])
        self.threads = int(config["SCHEDULER_THREADS"])
        self.me = leader.Identity()
        self.stopping = threading.Event()
        self.scheduler = None
        self.lock = None
        self.renewed_at = 0.0
        self.reconciled_at = 0.0

    def stop(self, *_args) -> None:
        self.stopping.set()

    def run(self) -> None:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        with self.app.app_context():
            self.lock = leader.leader_lock(self.me)
            logger.info("scheduler %s: started (standby until it holds the leader lock)", self.me.owner)
            try:
                while not self.stopping.is_set():
                    self.stopping.wait(self.step())
            finally:
                self.shutdown()

    def step(self) -> float:
        """One turn of the loop; the seconds to wait before the next."""
        try:
            if self.scheduler is None:
                return self._standby_turn()
            return self._active_turn()
        except Exception:  # noqa: BLE001 - a database hiccup: the next turn tries again
            logger.exception("scheduler %s: turn failed", self.me.owner)
            if self.scheduler is not None and time.monotonic() - self.renewed_at > self.lease:
                self._step_down("the lease could not be renewed in time")
            return min(self.poll, self.heartbeat)
        finally:
            db.session.remove()

    def _standby_turn(self) -> float:
        if self.lock.try_acquire():
            self.renewed_at = time.monotonic()
            self._become_active()
            return self.heartbeat
        leader.record_process(self.me, "standby")
        return self.poll

    def _active_turn(self) -> float:
        if time.monotonic() - self.renewed_at > self.lease or not self.lock.renew():
            self._step_down("another process holds the leader lock")
            return 0
        self.renewed_at = time.monotonic()
        leader.record_process(self.me, "active")
        if time.monotonic() - self.reconciled_at >= self.reconcile_every:
            reconcile(self.scheduler, self.unit, self.grace)
            self.reconciled_at = time.monotonic()
        return min(self.heartbeat, max(0.05, self.reconcile_every - (time.monotonic() - self.reconciled_at)))

    def _become_active(self) -> None:
        logger.info("scheduler %s: holds the leader lock, active", self.me.owner)
        leader.record_process(self.me, "active")
        scheduler = BackgroundScheduler(
            jobstores={"default": SQLAlchemyJobStore(engine=db.engine, tablename=JOBS_TABLE)},
            executors={"default": ThreadPoolExecutor(self.threads)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": self.grace},
            timezone=BUSINESS_TIMEZONE)
        scheduler.start(paused=True)  # the jobs are made right before any runs
        try:
            reconcile(scheduler, self.unit, self.grace)
        except Exception:
            scheduler.shutdown(wait=False)
            raise
        self.reconciled_at = time.monotonic()
        scheduler.resume()
        self.scheduler = scheduler

    def _step_down(self, why: str) -> None:
        logger.warning("scheduler %s: back to standby (%s)", self.me.owner, why)
        scheduler, self.scheduler = self.scheduler, None
        if scheduler is not None:
            scheduler.shutdown(wait=False)

    def shutdown(self) -> None:
        """A clean stop (SIGTERM): no new job; the runs in progress end; the lock is freed."""
        if self.scheduler is not None:
            logger.info("scheduler %s: stopping, waiting for the runs in progress", self.me.owner)
            self.scheduler.shutdown(wait=True)
            self.scheduler = None
        try:
            self.lock.release()
            leader.forget_process(self.me)
        except Exception:  # noqa: BLE001 - the lease expires by itself
            logger.warning("scheduler %s: could not release the leader lock", self.me.owner, exc_info=True)
        logger.info("scheduler %s: stopped", self.me.owner)
