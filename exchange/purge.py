"""Purge of a connector's data: its run history and its pending data (the CSV
exchange's documents and parties read but not integrated) older than a date; one
audit entry. Flush only: the caller commits."""
from flask_babel import gettext as _
from sqlalchemy import delete, func, select, update

from core.extensions import db
from models import AuditLogEntry
from models.base import utcnow
from models.exchange import Connector, SyncRun, SyncRunItem
from models.pending import PendingDocument, PendingParty, delete_documents


def purge_runs(connector: Connector, before, actor: tuple) -> int:
    """Delete the finished runs of ``connector`` started before ``before``; their count."""
    old = select(SyncRun.id).where(SyncRun.connector_id == connector.id, SyncRun.started_at < before,
                                   SyncRun.status != "running")
    count = db.session.scalar(select(func.count()).select_from(old.subquery()))
    if count:
        ids = select(old.subquery().c.id)  # a subquery, never a list of ids too long for one statement
        db.session.execute(update(SyncRun).where(SyncRun.retry_of_id.in_(ids)).values(retry_of_id=None),
                           execution_options={"synchronize_session": False})
        db.session.execute(delete(SyncRunItem).where(SyncRunItem.run_id.in_(ids)),
                           execution_options={"synchronize_session": False})
        db.session.execute(delete(SyncRun).where(SyncRun.id.in_(select(old.subquery().c.id))),
                           execution_options={"synchronize_session": False})
    delete_documents((PendingDocument.connector_id == connector.id) & (PendingDocument.read_at < before))
    db.session.execute(delete(PendingParty).where(PendingParty.connector_id == connector.id,
                                                  PendingParty.read_at < before),
                       execution_options={"synchronize_session": False})
    db.session.add(AuditLogEntry(
        tenant_id=connector.tenant_id, user_id=actor[0], user_email=actor[1], changed_at=utcnow(),
        table_name="connectors", row_id=connector.id, row_code=connector.code, action="purge", field="",
        new_value=_("Run history before %(day)s purged: %(count)s", count=count, day=before.strftime("%d/%m/%Y"))))
    db.session.flush()
    return count
