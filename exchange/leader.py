"""Only one active scheduler process, and what the connectors screen shows of it.

APScheduler 3's job store cannot be shared by two running schedulers (each would
run every job), so the ``scheduler`` command first takes a leader lock and starts
APScheduler only once it holds it; the other processes stay on standby, polling.

* PostgreSQL: ``pg_try_advisory_lock`` on a dedicated connection kept for the
  process's life. The server releases it the moment the process dies (its
  connection closes): the standby's next poll takes over.
* SQLite (and any other database): the row ``scheduler`` of ``scheduler_leases``,
  taken by a conditional UPDATE when it is free or expired, pushed forward by the
  holder's heartbeat. A holder that stopped beating loses it when it expires.

On both, the holder writes itself (owner, host, pid, heartbeat) to that row and
every process, active or standby, to ``scheduler_processes``, so that the
connectors screen reads the same state whatever the database. Each statement
commits on its own connection: the state is visible to every process at once.
"""
import logging
import os
import socket
import uuid
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, insert, or_, select, text, update
from sqlalchemy.exc import IntegrityError

from core.extensions import db
from models.base import utcnow
from models.scheduler import SchedulerLease, SchedulerProcess

logger = logging.getLogger(__name__)
LEASES, PROCESSES = SchedulerLease.__table__, SchedulerProcess.__table__
LOCK_NAME = "scheduler"
ADVISORY_KEY = 0x50617373  # "Pass": the advisory lock's first key; the second is the schema's hash
# Advisory locks are per database: the schema in the key lets two deployments share one
# database in two schemas (a benchmark beside the tests) with a scheduler each.
LOCK_KEYS = "(:key, hashtext(current_schema()))"
FORGET_AFTER_LEASES = 20   # a process not seen for that many leases is dropped from the list


def _lease_seconds() -> float:
    return float(current_app.config["SCHEDULER_LEASE_SECONDS"])


class Identity:
    """Who this process is: ``host:pid:random`` (a restarted process is a new owner)."""

    def __init__(self):
        self.host = socket.gethostname()[:100]
        self.pid = os.getpid()
        self.owner = f"{self.host[:60]}:{self.pid}:{uuid.uuid4().hex[:8]}"


def _state_values(me: Identity, now) -> dict:
    return {"owner": me.owner, "host": me.host, "pid": me.pid, "heartbeat_at": now,
            "expires_at": now + timedelta(seconds=_lease_seconds())}


class LeaseLock:
    """The leader lock as a row with a lease (SQLite)."""

    def __init__(self, me: Identity):
        self.me = me

    def try_acquire(self) -> bool:
        now = utcnow()
        values = {**_state_values(self.me, now), "acquired_at": now}
        with db.engine.begin() as connection:
            taken = connection.execute(update(LEASES).where(
                LEASES.c.name == LOCK_NAME,
                or_(LEASES.c.owner == self.me.owner, LEASES.c.expires_at < now)).values(**values)).rowcount
        if taken:
            return True
        try:
            with db.engine.begin() as connection:
                connection.execute(insert(LEASES).values(name=LOCK_NAME, **values))
        except IntegrityError:
            return False  # held by a live process
        return True

    def renew(self) -> bool:
        """Push the lease forward; False when another process has taken it (ours expired)."""
        with db.engine.begin() as connection:
            return connection.execute(update(LEASES).where(
                LEASES.c.name == LOCK_NAME, LEASES.c.owner == self.me.owner,
            ).values(**_state_values(self.me, utcnow()))).rowcount == 1

    def release(self) -> None:
        with db.engine.begin() as connection:
            connection.execute(delete(LEASES).where(LEASES.c.name == LOCK_NAME, LEASES.c.owner == self.me.owner))


class AdvisoryLock:
    """The leader lock as a PostgreSQL advisory lock held by a dedicated connection."""

    def __init__(self, me: Identity):
        self.me = me
        self.connection = None

    def _connection(self):
        if self.connection is None:
            self.connection = db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        return self.connection

    def _close(self) -> None:
        if self.connection is not None:
            try:
                self.connection.invalidate()  # never back to the pool: the lock goes with it
                self.connection.close()
            except Exception:  # noqa: BLE001 - a broken connection is closed anyway
                logger.debug("closing the lock connection failed", exc_info=True)
            self.connection = None

    def try_acquire(self) -> bool:
        try:
            held = bool(self._connection().execute(text(f"SELECT pg_try_advisory_lock{LOCK_KEYS}"),
                                                   {"key": ADVISORY_KEY}).scalar())
        except Exception:  # noqa: BLE001 - the database is away: try again at the next poll
            logger.warning("scheduler: cannot reach the database for the leader lock", exc_info=True)
            self._close()
            return False
        if held:
            self._write_state(acquired=True)
        return held

    def renew(self) -> bool:
        """Check the lock's connection is alive (the lock lives with it) and beat."""
        try:
            self._connection().execute(text("SELECT 1"))
        except Exception:  # noqa: BLE001 - connection lost: so is the lock
            logger.warning("scheduler: the leader lock's connection was lost", exc_info=True)
            self._close()
            return False
        self._write_state()
        return True

    def _write_state(self, acquired: bool = False) -> None:
        now = utcnow()
        values = _state_values(self.me, now)
        if acquired:
            values["acquired_at"] = now
        with db.engine.begin() as connection:
            if not connection.execute(update(LEASES).where(LEASES.c.name == LOCK_NAME).values(**values)).rowcount:
                connection.execute(insert(LEASES).values(name=LOCK_NAME, **{"acquired_at": now, **values}))

    def release(self) -> None:
        try:
            with db.engine.begin() as connection:
                connection.execute(delete(LEASES).where(LEASES.c.name == LOCK_NAME,
                                                        LEASES.c.owner == self.me.owner))
            if self.connection is not None:
                self.connection.execute(text(f"SELECT pg_advisory_unlock{LOCK_KEYS}"), {"key": ADVISORY_KEY})
        finally:
            self._close()


def leader_lock(me: Identity):
    return AdvisoryLock(me) if db.engine.dialect.name == "postgresql" else LeaseLock(me)


def record_process(me: Identity, role: str) -> None:
    """This process is alive, in this role (``active`` / ``standby``)."""
    now = utcnow()
    with db.engine.begin() as connection:
        if not connection.execute(update(PROCESSES).where(PROCESSES.c.owner == me.owner)
                                  .values(role=role, seen_at=now)).rowcount:
            connection.execute(insert(PROCESSES).values(owner=me.owner, host=me.host, pid=me.pid, role=role,
                                                        started_at=now, seen_at=now))
        if role == "active":
            forget_before = now - timedelta(seconds=FORGET_AFTER_LEASES * _lease_seconds())
            connection.execute(delete(PROCESSES).where(PROCESSES.c.seen_at < forget_before))


def forget_process(me: Identity) -> None:
    with db.engine.begin() as connection:
        connection.execute(delete(PROCESSES).where(PROCESSES.c.owner == me.owner))


def scheduler_state() -> dict:
    """What the connectors screen shows: the active process (``None`` when no scheduler has
    ever run, or it stopped cleanly), ``down`` when its heartbeat is older than a lease,
    and the standby processes seen recently."""
    now = utcnow()
    lease = _lease_seconds()
    poll = float(current_app.config["SCHEDULER_STANDBY_POLL_SECONDS"])
    active = db.session.execute(select(LEASES).where(LEASES.c.name == LOCK_NAME)).first()
    recent = now - timedelta(seconds=3 * poll + lease)
    standbys = db.session.execute(select(PROCESSES).where(PROCESSES.c.role == "standby",
                                                          PROCESSES.c.seen_at >= recent)
                                  .order_by(PROCESSES.c.started_at)).all()
    return {
        "active": None if active is None else {
            "host": active.host, "pid": active.pid, "owner": active.owner, "since": active.acquired_at,
            "heartbeat_at": active.heartbeat_at,
            "down": active.heartbeat_at < now - timedelta(seconds=lease)},
        "standbys": [{"host": row.host, "pid": row.pid, "seen_at": row.seen_at} for row in standbys],
    }
