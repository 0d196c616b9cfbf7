"""The one reporting piece every engine writes through: start, heartbeat, items,
counts, progress, finish.

``start`` takes the lease (``exchange.locking``) and returns the run's id at once,
so a screen can answer "already running" before any work; ``perform`` then runs
the kind's engine inside the connector's tenant scope, with a heartbeat thread
keeping the lease alive, and closes the run with its status and one audit entry.
An engine receives a ``Run``: it declares its total, wraps every document in
``run.document(type, identifier)`` (the document's own transaction, rolled back
in a dry run or on ``ItemError``) and may record items directly with
``run.item`` outside documents (skips). Items and counts are written on their own
connection in batches (every 5,000 items or every second), after the document's
commit, so that progress is visible to the polling screen, and a dry run reports
exactly what the real run would. An engine writing a batch of documents in one
transaction gives its items with ``items_with_batch`` inside it: they are committed
with the batch instead of by a commit of their own.
"""
import logging
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, insert, select, update

from core import transaction
from core.audit import audit_in_one_entry, audited_in_bulk
from core.bulk import fast_insert
from core.crypto import decrypt_secrets
from core.extensions import db
from core.tenancy import tenant_scope
from exchange.base import ItemError, RunFailed, kind_of
from exchange.labels import label
from exchange.locking import AlreadyRunning, acquire, close_expired, heartbeat, lease_expiry, lease_key, new_owner
from exchange.received import AlreadyReceived
from models.base import utcnow
from models.exchange import ITEM_STATES, Connector, SyncRun, SyncRunItem

logger = logging.getLogger(__name__)
RUNS, ITEMS = SyncRun.__table__, SyncRunItem.__table__
FLUSH_ITEMS = 5000  # and at least every FLUSH_SECONDS: each flush is a commit (an fsync on SQLite)
FLUSH_SECONDS = 1.0

__all__ = ["AlreadyRunning", "RunRefused", "Run", "start", "perform", "run_now", "start_in_thread",
           "record_refused", "summary", "progress", "failed_runs_count"]


class RunRefused(Exception):
    """A run that cannot start (disabled connector, direction the kind lacks, bad retry)."""


@dataclass
class Outcome:
    """What became of one document; ``ok`` unless the engine says otherwise."""

    state: str = "ok"
    message: str = ""

    def warn(self, message: str) -> None:
        self.state, self.message = "warning", message

    def skip(self, message: str) -> None:
        self.state, self.message = "skipped", message


@dataclass
class Run:
    id: int
    connector: Connector
    direction: str
    dry_run: bool
    owner: str
    only: set | None = None                        # (type, identifier) to retry, None = everything
    full_send: bool = False                        # *Tout renvoyer*: send unchanged rows too
    total: int | None = None
    processed: int = 0
    counts: dict = field(default_factory=lambda: dict.fromkeys(ITEM_STATES, 0))
    lease_lost: threading.Event = field(default_factory=threading.Event)
    _buffer: list = field(default_factory=list)
    _flushed_at: float = field(default_factory=time.monotonic)
    _staged: list | None = None                    # the items of a batch's open transaction

    @property
    def settings(self) -> dict:
        return dict(self.connector.settings or {})

    @property
    def secrets(self) -> dict:
        return decrypt_secrets(self.connector.secrets)

    def wanted(self, type_: str, identifier: str) -> bool:
        """False for what a retry run leaves out (everything but the failed items)."""
        return self.only is None or (type_, str(identifier)) in self.only

    def set_total(self, total: int) -> None:
        self.total = total
        self.flush(force=True)

    @contextmanager
    def document(self, type_: str, identifier: str, batch: str = ""):
        """One document in its own transaction; an ``ItemError`` makes it an ``error`` item,
        an ``AlreadyReceived`` (another process integrated it first) a ``skipped`` one."""
        if self.lease_lost.is_set():
            raise RunFailed(_("The run lost its lease (closed by another process); it stopped."))
        outcome = Outcome()
        try:
            with transaction.document(self.dry_run):
                yield outcome
        except ItemError as error:
            self.item(type_, identifier, "error", str(error), batch)
            return
        except AlreadyReceived as duplicate:
            self.item(type_, identifier, "skipped", str(duplicate), batch)
            return
        self.item(type_, identifier, outcome.state, outcome.message, batch)

    def item(self, type_: str, identifier: str, state: str, message: str = "", batch: str = "") -> None:
        """Record one item (outside an open document transaction)."""
        self.items(type_, [(identifier, state, message, batch)])

    def items(self, type_: str, entries) -> None:
        """Record the items (identifier, state, message, batch) of a batch at once (outside an
        open document transaction): one time stamp, one check of the flush."""
        rows = self._rows(type_, entries)
        self._count(rows)
        self._buffer.extend(rows)
        self.flush()

    def items_with_batch(self, type_: str, entries) -> None:
        """The items of a batch written in one transaction by the engine, called inside it: in a
        real run they are written there (after those buffered before, with the run's counts), so
        they are committed with the batch's documents, without a commit of their own; the engine
        then calls ``batch_ended``. A dry run's batch is rolled back: its items are buffered."""
        rows = self._rows(type_, entries)
        if self.dry_run:
            self._staged = rows
            return
        written = self._buffer + rows
        fast_insert(ITEMS, written)
        counts = dict(self.counts)
        for row in rows:
            counts[row["state"]] += 1
        db.session.execute(update(RUNS).where(RUNS.c.id == self.id).values(
            **self._progress_values(counts, self.processed + len(rows))))
        self._staged = rows

    def batch_ended(self, committed: bool) -> None:
        """After the transaction of ``items_with_batch``: its items counted if it was committed
        (and, in a dry run, buffered), forgotten if it was rolled back."""
        rows, self._staged = self._staged, None
        if not committed or rows is None:
            return
        self._count(rows)
        if self.dry_run:
            self._buffer.extend(rows)
            self.flush()
            return
        self._buffer.clear()
        self._flushed_at = time.monotonic()

    def _rows(self, type_: str, entries) -> list[dict]:
        now = utcnow()
        return [{"run_id": self.id, "type": type_, "identifier": str(identifier)[:250], "state": state,
                 "message": str(message or ""), "batch": batch[:250], "created_at": now}
                for identifier, state, message, batch in entries]

    def _count(self, rows: list[dict]) -> None:
        counts = self.counts
        for row in rows:
            counts[row["state"]] += 1
        self.processed += len(rows)

    def flush(self, force: bool = False) -> None:
        if not force and len(self._buffer) < FLUSH_ITEMS and time.monotonic() - self._flushed_at < FLUSH_SECONDS:
            return
        with db.engine.begin() as connection:
            fast_insert(ITEMS, self._buffer, connection)
            connection.execute(update(RUNS).where(RUNS.c.id == self.id).values(**self._progress_values()))
        self._buffer.clear()
        self._flushed_at = time.monotonic()

    def _progress_values(self, counts: dict | None = None, processed: int | None = None) -> dict:
        counts = self.counts if counts is None else counts
        return {"total": self.total, "processed": self.processed if processed is None else processed,
                "ok_count": counts["ok"], "skipped_count": counts["skipped"], "warning_count": counts["warning"],
                "error_count": counts["error"]}

    def finish(self, failed_message: str | None, actor: tuple) -> str:
        """Close the run (unless another process closed it meanwhile) and audit it once."""
        self.flush(force=True)
        status = "failed" if failed_message is not None else ("partial" if self.counts["error"] else "success")
        now = utcnow()
        # Everything the session may have to load (the connector expired by the engine's
        # rollback, the language of the audit text) is read before the write below: on
        # SQLite that write holds the database lock, and a session waiting then for a
        # pooled connection would hold it until the pool times out (concurrent webhooks).
        tenant_id, code, text = self.connector.tenant_id, self.connector.code, self.audit_text(status)
        with db.engine.begin() as connection:
            closed = connection.execute(update(RUNS).where(RUNS.c.id == self.id, RUNS.c.status == "running").values(
                status=status, finished_at=now, lease_key=None, message=failed_message or "",
                **self._progress_values())).rowcount
            if closed and not self.dry_run:
                audit_in_one_entry(tenant_id, "sync_runs", "run", text, row_id=self.id, row_code=code, actor=actor,
                                   connection=connection)
        return status if closed else "failed"

    def audit_text(self, status: str) -> str:
        c = self.counts
        return _("%(direction)s: %(status)s (run #%(id)s) — OK: %(ok)s · skipped: %(skipped)s · "
                 "warnings: %(warning)s · errors: %(error)s", direction=label(self.direction), status=label(status), ok=c["ok"],
                 skipped=c["skipped"], warning=c["warning"], error=c["error"], id=self.id)


class Heartbeat(threading.Thread):
    """Pushes the run's lease forward every ``EXCHANGE_HEARTBEAT_SECONDS`` while it runs."""

    def __init__(self, app, run: Run):
        super().__init__(name=f"heartbeat-run-{run.id}", daemon=True)
        self.app, self.run_, self.stopped = app, run, threading.Event()
        self.interval = app.config["EXCHANGE_HEARTBEAT_SECONDS"]

    def run(self) -> None:
        with self.app.app_context():
            while not self.stopped.wait(self.interval):
                try:
                    if not heartbeat(self.run_.id, self.run_.owner):
                        self.run_.lease_lost.set()
                        return
                except Exception:  # a busy database: the next beat tries again
                    logger.warning("run %s: heartbeat failed", self.run_.id, exc_info=True)
            db.session.remove()

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=10)


def _failed_items(run_id: int) -> set:
    rows = db.session.execute(select(SyncRunItem.type, SyncRunItem.identifier)
                              .where(SyncRunItem.run_id == run_id, SyncRunItem.state == "error")).all()
    return {(row.type, row.identifier) for row in rows}


def start(connector: Connector, direction: str, trigger: str = "manual", dry_run: bool = False,
          retry_of: int | None = None, user_email: str = "", full_send: bool = False) -> int:
    """Take the lease and record the running run; its id. ``AlreadyRunning`` / ``RunRefused``."""
    kind = kind_of(connector.kind)
    if kind is None or direction not in kind.directions:
        raise RunRefused(_("This connector cannot run in this direction."))
    if not connector.enabled:
        raise RunRefused(_("This connector is disabled: enable it to run it."))
    if retry_of is not None:
        first = db.session.get(SyncRun, retry_of)
        if first is None or first.connector_id != connector.id or first.direction != direction:
            raise RunRefused(_("Unknown run to retry."))
        if not first.error_count:
            raise RunRefused(_("This run has no failed item to retry."))
    close_expired(connector.id)
    now = utcnow()
    holds_lease = not dry_run and trigger != "webhook"
    return acquire({
        "tenant_id": connector.tenant_id, "connector_id": connector.id, "direction": direction,
        "trigger": trigger, "status": "running", "dry_run": dry_run, "user_email": user_email,
        "started_at": now, "heartbeat_at": now, "lease_owner": new_owner(), "lease_expires_at": lease_expiry(),
        "lease_key": lease_key(connector.id, direction) if holds_lease else None, "retry_of_id": retry_of,
        "full_send": full_send,
        "processed": 0, "ok_count": 0, "skipped_count": 0, "warning_count": 0, "error_count": 0, "message": "",
    })


def perform(run_id: int, actor: tuple = (None, "system"), engine=None) -> str:
    """Run the engine of a started run to its end; its final status. Never raises for the
    engine's failures: they end the run as ``failed`` with a readable message. ``engine``:
    one step of the kind's engine instead of the whole (a screen's *Réceptionner*)."""
    row = db.session.get(SyncRun, run_id)
    connector = row.connector
    run = Run(id=row.id, connector=connector, direction=row.direction, dry_run=row.dry_run, owner=row.lease_owner,
              only=_failed_items(row.retry_of_id) if row.retry_of_id else None, full_send=row.full_send)
    engine = engine or kind_of(connector.kind).engines[row.direction]
    transaction.rollback()
    beat = Heartbeat(current_app._get_current_object(), run)
    beat.start()
    failed_message = None
    bulk = audited_in_bulk.set(True)
    try:
        with tenant_scope(connector.tenant_id, actor):
            engine(run)
    except RunFailed as error:
        failed_message = str(error)
    except Exception as error:
        logger.exception("run %s of connector %s stopped on an unexpected error", run_id, connector.id)
        failed_message = _("Unexpected error (%(type)s): the run stopped; what was integrated before stays.",
                           type=type(error).__name__)
    finally:
        audited_in_bulk.reset(bulk)
        transaction.rollback()
        beat.stop()
    return run.finish(failed_message, actor)


def run_now(connector: Connector, direction: str, trigger: str = "command", dry_run: bool = False,
            retry_of: int | None = None, actor: tuple = (None, "system"), full_send: bool = False) -> int:
    """Start and perform a run in this thread; its id."""
    run_id = start(connector, direction, trigger, dry_run, retry_of, actor[1], full_send)
    perform(run_id, actor)
    return run_id


def record_refused(connector: Connector, direction: str, trigger: str, reason: str, user_email: str = "") -> int:
    """Record a trigger that did not start (a scheduled run while another run holds the
    lease) as a closed run of status ``refused`` with the reason, so that the history
    shows it; it takes no lease and never counts as a failure. Its id."""
    now = utcnow()
    with db.engine.begin() as connection:
        return connection.execute(insert(RUNS).values(
            tenant_id=connector.tenant_id, connector_id=connector.id, direction=direction, trigger=trigger,
            status="refused", dry_run=False, user_email=user_email, started_at=now, finished_at=now,
            heartbeat_at=now, lease_key=None, lease_owner="", lease_expires_at=now, processed=0, ok_count=0,
            skipped_count=0, warning_count=0, error_count=0,
            message=_("Not started: %(reason)s", reason=reason))).inserted_primary_key[0]


def start_in_thread(app, run_id: int, actor: tuple, engine=None) -> threading.Thread:
    """Perform a started run in a background thread of this process (the manual trigger)."""

    def target():
        with app.app_context():
            try:
                perform(run_id, actor, engine)
            finally:
                db.session.remove()

    thread = threading.Thread(target=target, name=f"run-{run_id}", daemon=True)
    thread.start()
    return thread


def progress(run_id: int) -> dict:
    row = db.session.get(SyncRun, run_id)
    return {"id": row.id, "status": row.status, "processed": row.processed, "total": row.total,
            "counts": {"ok": row.ok_count, "skipped": row.skipped_count, "warning": row.warning_count,
                       "error": row.error_count}, "message": row.message}


def summary(run_id: int) -> dict:
    """The report as ``exchange run --json`` prints it."""
    report = progress(run_id)
    items = db.session.execute(select(SyncRunItem.type, SyncRunItem.identifier, SyncRunItem.state,
                                      SyncRunItem.message).where(SyncRunItem.run_id == run_id)
                               .order_by(SyncRunItem.id)).all()
    return {"status": report["status"], "counts": report["counts"], "message": report["message"],
            "items": [{"type": i.type, "identifier": i.identifier, "state": i.state, "message": i.message}
                      for i in items]}


def failed_runs_count(tenant_id: int) -> int:
    """Connector directions whose latest finished real run failed (what the home page shows)."""
    latest = (select(func.max(SyncRun.id)).where(SyncRun.tenant_id == tenant_id, SyncRun.dry_run.is_(False),
                                                 SyncRun.status.notin_(("running", "refused")))
              .group_by(SyncRun.connector_id, SyncRun.direction))
    return db.session.scalar(select(func.count()).select_from(SyncRun)
                             .where(SyncRun.id.in_(latest), SyncRun.status == "failed")) or 0
