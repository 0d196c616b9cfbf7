"""*Actualiser les données*: a send, then a receive, of one connector, from its screen.

Both are ordinary manual runs holding their leases: the send is started at once (so
the screen can answer "already running" before any work and show its progress),
then a background thread of the web process performs it and, unless it failed,
starts and performs the receive. The screen follows the send's report, then finds
the receive with ``following_receive`` (a query, so any web worker can answer).
"""
import logging
import threading

from sqlalchemy import select

from core.extensions import db
from core.tenancy import tenant_scope
from exchange import runs
from models.exchange import Connector, SyncRun

logger = logging.getLogger(__name__)


def start_refresh(app, connector: Connector, actor: tuple) -> int:
    """The send run's id (``AlreadyRunning`` / ``RunRefused`` before anything runs)."""
    send_id = runs.start(connector, "send", "manual", user_email=actor[1])
    connector_id = connector.id

    def target():
        with app.app_context():
            try:
                if runs.perform(send_id, actor) == "failed":
                    return
                row = db.session.get(Connector, connector_id)
                with tenant_scope(row.tenant_id, actor):
                    receive_id = runs.start(row, "receive", "manual", user_email=actor[1])
                runs.perform(receive_id, actor)
            except (runs.AlreadyRunning, runs.RunRefused) as refused:
                logger.info("connector %s: the receive after the send did not start: %s", connector_id, refused)
            finally:
                db.session.remove()

    threading.Thread(target=target, name=f"refresh-{connector_id}", daemon=True).start()
    return send_id


def following_receive(send_run: SyncRun) -> int | None:
    """The receive started after ``send_run`` by the same refresh, when there is one."""
    return db.session.scalar(select(SyncRun.id).where(
        SyncRun.connector_id == send_run.connector_id, SyncRun.direction == "receive",
        SyncRun.trigger == "manual", SyncRun.id > send_run.id, SyncRun.dry_run.is_(False))
        .order_by(SyncRun.id).limit(1))
