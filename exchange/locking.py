"""One run per (connector, direction) at a time, across processes: a lease in the database.

The running run holds ``lease_key = "<connector>:<direction>"`` under a unique
constraint, with an expiry its process pushes forward at every heartbeat. Taking
the lease is one INSERT: it fails on the constraint while another run holds it.
The holder is then either alive (its lease has not expired: "already running")
or dead (expired: closed as ``failed`` "interrupted" by a conditional UPDATE, then
the INSERT is tried again). Each statement commits on its own connection, so the
lease is visible to every process at once, on SQLite and PostgreSQL alike. Dry
runs and webhook deliveries take no lease (``lease_key`` NULL); their rows still
expire, and are closed the same way.
"""
import os
import socket
import uuid
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, insert, select, update
from sqlalchemy.exc import IntegrityError

from core.extensions import db
from models.base import utcnow
from models.exchange import SyncRun

RUNS = SyncRun.__table__
INTERRUPTED = _l("Interrupted: the process running it stopped (no heartbeat since its lease expired); "
                 "closed automatically.")


class AlreadyRunning(Exception):
    def __init__(self, run_id: int | None):
        super().__init__(_("A run of this connector in this direction is already running (run #%(id)s).",
                           id=run_id or "?"))
        self.run_id = run_id


def lease_key(connector_id: int, direction: str) -> str:
    return f"{connector_id}:{direction}"


def new_owner() -> str:
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def lease_expiry():
    return utcnow() + timedelta(seconds=current_app.config["EXCHANGE_LEASE_SECONDS"])


def close_expired(connector_id: int | None = None, tenant_id: int | None = None) -> int:
    """Close as ``failed`` every running run whose lease has expired (its process died)."""
    now = utcnow()
    condition = and_(RUNS.c.status == "running", RUNS.c.lease_expires_at < now)
    if connector_id is not None:
        condition = and_(condition, RUNS.c.connector_id == connector_id)
    if tenant_id is not None:
        condition = and_(condition, RUNS.c.tenant_id == tenant_id)
    with db.engine.begin() as connection:
        return connection.execute(update(RUNS).where(condition).values(
            status="failed", finished_at=now, lease_key=None,
            message=str(INTERRUPTED))).rowcount


def acquire(values: dict) -> int:
    """Insert the run described by ``values`` (holding its lease when ``lease_key`` is set)
    and return its id; ``AlreadyRunning`` when a live run holds the lease."""
    key = values.get("lease_key")
    for _attempt in range(3):
        try:
            with db.engine.begin() as connection:
                return connection.execute(insert(RUNS).values(**values)).inserted_primary_key[0]
        except IntegrityError:
            if key is None:
                raise
        with db.engine.begin() as connection:
            holder = connection.execute(select(RUNS.c.id, RUNS.c.lease_expires_at)
                                        .where(RUNS.c.lease_key == key)).first()
        if holder is None:
            continue  # it has just finished
        if holder.lease_expires_at is not None and holder.lease_expires_at >= utcnow():
            raise AlreadyRunning(holder.id)
        close_expired(values["connector_id"])
        values = _restamped(values)  # the run starts after the dead one was closed, never before
    raise AlreadyRunning(None)


def _restamped(values: dict) -> dict:
    now = utcnow()
    fresh = {"started_at": now, "heartbeat_at": now, "lease_expires_at": lease_expiry()}
    return {**values, **{key: value for key, value in fresh.items() if key in values}}


def heartbeat(run_id: int, owner: str) -> bool:
    """Push the lease forward; False when the run is no longer ours (closed meanwhile)."""
    now = utcnow()
    with db.engine.begin() as connection:
        return connection.execute(update(RUNS).where(
            RUNS.c.id == run_id, RUNS.c.lease_owner == owner, RUNS.c.status == "running",
        ).values(heartbeat_at=now, lease_expires_at=lease_expiry())).rowcount == 1
