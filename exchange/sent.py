"""Only what changed is sent: the fingerprint of every row as the peer last accepted
it, per connector and entity type (``SentRecord``).

A send builds each eligible row's payload, asks ``changed`` which of them differ
from what was last accepted (all of them on a first send or a *Tout renvoyer*),
sends those, and calls ``remember`` with the batch the peer accepted, so that a
batch that failed is sent again next time. Comparing payloads rather than
modification dates catches every change that reaches the peer, including the ones
made elsewhere (a family renamed, a mapping added). A send of a whole referential
(field service) reads every fingerprint of a type at once (``last_accepted``), compares
the fingerprints of the texts it puts on the wire, and records them with
``remember_digests``.
"""
import json

from sqlalchemy import DateTime, bindparam, delete, insert, select, text

from core.bulk import fast_rows
from core.extensions import db
from exchange.received import fingerprint
from models.base import utcnow
from models.exchange import SentRecord

CHUNK = 500
KEY_LENGTH = 200  # SentRecord.external_id
BULK_CHUNK = 5000  # rows of one upsert statement (of the fallback's delete: an IN of as many)
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


def last_accepted(connector_id: int, entity_type: str) -> dict[str, str]:
    """``{external id: fingerprint}`` of every row of ``entity_type`` as the peer last
    accepted it, in one query (a first send finds none)."""
    return dict(fast_rows(select(RECORDS.c.external_id, RECORDS.c.content_hash).where(
        RECORDS.c.connector_id == connector_id, RECORDS.c.entity_type == entity_type)))


def remember(run, entity_type: str, accepted: dict[str, dict], digests: dict | None = None) -> None:
    """Record ``accepted`` (``{external id: payload}``) as what the peer now has.
    ``digests``: the fingerprints ``changed`` already computed."""
    if run.dry_run:
        return
    digests = digests or {}
    remember_digests(run.connector.tenant_id, run.connector.id, entity_type,
                     {key: digests.get(key) or fingerprint(payload) for key, payload in accepted.items()})


def remember_digests(tenant_id: int, connector_id: int, entity_type: str, digests: dict[str, str]) -> None:
    """Record ``digests`` (``{external id: fingerprint}``) as what the peer now has; on
    its own connection, committed at once (the send has no document transaction). One
    upsert statement per ``BULK_CHUNK`` rows, reading them from one parameter (a JSON
    object: encoded in C, where the driver's text arrays would cost a Python step per
    element): the database does the whole work in one call, without a round trip nor a
    Python step per row. Plain values only: a send calls it from a thread of its own."""
    if not digests:
        return
    keys, hashes = list(map(str, digests)), list(digests.values())
    if max(map(len, keys)) > KEY_LENGTH or set(map(type, digests)) != {str}:  # as stored (a step per row only then)
        stored = {key[:KEY_LENGTH]: content_hash for key, content_hash in zip(keys, hashes)}
        keys, hashes = list(stored), list(stored.values())
    constants = {"tenant_id": tenant_id, "connector_id": connector_id, "entity_type": entity_type,
                 "sent_at": utcnow()}
    with db.engine.begin() as connection:
        upsert = _UPSERTS.get(connection.dialect.name)
        for start in range(0, len(keys), BULK_CHUNK):
            ids, sums = keys[start:start + BULK_CHUNK], hashes[start:start + BULK_CHUNK]
            if upsert is not None:
                connection.execute(upsert, {**constants, "digests": json.dumps(dict(zip(ids, sums)))})
            else:
                connection.execute(delete(RECORDS).where(
                    RECORDS.c.connector_id == connector_id, RECORDS.c.entity_type == entity_type,
                    RECORDS.c.external_id.in_(ids)))
                connection.execute(insert(RECORDS), [{**constants, "external_id": external_id, "content_hash": hash_}
                                                     for external_id, hash_ in zip(ids, sums)])


_COLUMNS = "INSERT INTO sent_records (tenant_id, connector_id, entity_type, external_id, content_hash, sent_at) "
_ON_CONFLICT = ("ON CONFLICT (connector_id, entity_type, external_id) "
                "DO UPDATE SET content_hash = excluded.content_hash, sent_at = excluded.sent_at")
_UPSERTS = {
    "postgresql": text(
        _COLUMNS + "SELECT :tenant_id, :connector_id, :entity_type, t.key, t.value, :sent_at "
        "FROM json_each_text(CAST(:digests AS json)) AS t " + _ON_CONFLICT).bindparams(
        bindparam("sent_at", type_=DateTime)),
    "sqlite": text(  # "WHERE true": an upsert of a SELECT needs a WHERE in SQLite
        _COLUMNS + "SELECT :tenant_id, :connector_id, :entity_type, key, value, :sent_at FROM json_each(:digests) "
        "WHERE true " + _ON_CONFLICT).bindparams(bindparam("sent_at", type_=DateTime)),
}
