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


def changed(connector_id: int, entity_type: str, payloads: dict[str, dict], send_all: bool = False,
            digests: dict | None = None):
    """``(to_send, unchanged)``: the ``{external id: payload}`` to send and how many
    rows are left out because the peer already has them as they are. ``digests``, when
    given, receives the fingerprint of each row to send, for ``remember`` to reuse."""
    if send_all:
        return dict(payloads), 0
    first = db.session.execute(select(RECORDS.c.id).where(
        RECORDS.c.connector_id == connector_id, RECORDS.c.entity_type == entity_type).limit(1)).first() is None
    last = {} if first else _last_sent(connector_id, entity_type, list(payloads))
    to_send = {}
    for key, payload in payloads.items():
        digest = fingerprint(payload)
        if last.get(key) != digest:
            to_send[key] = payload
            if digests is not None:
                digests[key] = digest
    return to_send, len(payloads) - len(to_send)


def remember(run, entity_type: str, accepted: dict[str, dict], digests: dict | None = None) -> None:
    """Record ``accepted`` (``{external id: payload}``) as what the peer now has; on
    its own connection, committed at once (the send has no document transaction).
    ``digests``: the fingerprints ``changed`` already computed."""
    digests = digests or {}
    if run.dry_run or not accepted:
        return
    connector, now = run.connector, utcnow()
    rows = [{"tenant_id": connector.tenant_id, "connector_id": connector.id, "entity_type": entity_type,
             "external_id": str(key)[:200], "content_hash": digests.get(key) or fingerprint(payload),
             "sent_at": now}
            for key, payload in accepted.items()]
    with db.engine.begin() as connection:
        upsert = _upsert(connection.dialect.name)
        if upsert is not None:  # one statement, no delete first (SQLite and PostgreSQL)
            connection.execute(upsert, rows)
            return
        keys = [row["external_id"] for row in rows]
        for start in range(0, len(keys), CHUNK):
            connection.execute(delete(RECORDS).where(
                RECORDS.c.connector_id == connector.id, RECORDS.c.entity_type == entity_type,
                RECORDS.c.external_id.in_(keys[start:start + CHUNK])))
        connection.execute(insert(RECORDS), rows)


def _upsert(dialect: str):
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:
        return None
    statement = dialect_insert(RECORDS)
    return statement.on_conflict_do_update(
        index_elements=[RECORDS.c.connector_id, RECORDS.c.entity_type, RECORDS.c.external_id],
        set_={"content_hash": statement.excluded.content_hash, "sent_at": statement.excluded.sent_at})
