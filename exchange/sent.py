"""Only what changed is sent: the fingerprint of every row as the peer last accepted
it, per connector and entity type (``SentRecord``).

A send builds each eligible row's payload, asks ``changed`` which of them differ
from what was last accepted (all of them on a first send or a *Tout renvoyer*),
sends those, and calls ``remember`` with the batch the peer accepted, so that a
batch that failed is sent again next time. Comparing payloads rather than
modification dates catches every change that reaches the peer, including the ones
made elsewhere (a family renamed, a mapping added).
"""
from sqlalchemy import delete, insert, select

from core.extensions import db
from exchange.received import fingerprint
from models.base import utcnow
from models.exchange import SentRecord

CHUNK = 500
RECORDS = SentRecord.__table__


def _last_sent(connector_id: int, entity_type: str, external_ids: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for start in range(0, len(external_ids), CHUNK):
        rows = db.session.execute(select(RECORDS.c.external_id, RECORDS.c.content_hash).where(
            RECORDS.c.connector_id == connector_id, RECORDS.c.entity_type == entity_type,
            RECORDS.c.external_id.in_(external_ids[start:start + CHUNK])))
        found.update((row.external_id, row.content_hash) for row in rows)
    return found


def changed(connector_id: int, entity_type: str, payloads: dict[str, dict], send_all: bool = False):
    """``(to_send, unchanged)``: the ``{external id: payload}`` to send and how many
    rows are left out because the peer already has them as they are."""
    if send_all:
        return dict(payloads), 0
    last = _last_sent(connector_id, entity_type, list(payloads))
    to_send = {key: payload for key, payload in payloads.items() if last.get(key) != fingerprint(payload)}
    return to_send, len(payloads) - len(to_send)


def remember(run, entity_type: str, accepted: dict[str, dict]) -> None:
    """Record ``accepted`` (``{external id: payload}``) as what the peer now has; on
    its own connection, committed at once (the send has no document transaction)."""
    if run.dry_run or not accepted:
        return
    connector, now = run.connector, utcnow()
    rows = [{"tenant_id": connector.tenant_id, "connector_id": connector.id, "entity_type": entity_type,
             "external_id": str(key)[:200], "content_hash": fingerprint(payload), "sent_at": now}
            for key, payload in accepted.items()]
    keys = [row["external_id"] for row in rows]
    with db.engine.begin() as connection:
        for start in range(0, len(keys), CHUNK):
            connection.execute(delete(RECORDS).where(
                RECORDS.c.connector_id == connector.id, RECORDS.c.entity_type == entity_type,
                RECORDS.c.external_id.in_(keys[start:start + CHUNK])))
        connection.execute(insert(RECORDS), rows)
