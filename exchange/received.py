"""The idempotency record of received documents: one ``ReceivedDocument`` row per
(connector, external key), whatever the kind (a CSV document, an intervention, a
work order).

An engine first looks its batch up with ``known`` (one query per 500 keys) to skip
what is already integrated without opening a transaction, then, inside the
document's transaction (``Run.document``), calls ``claim`` *before* creating
anything: the row's unique key is what makes a second process receiving the same
document at the same moment wait, then fail with ``AlreadyReceived``, which
``Run.document`` reports as ``skipped``; the document itself is rolled back whole.
"""
import hashlib
import json
import json.encoder

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.extensions import db
from models import ReceivedDocument
from rules.payments import one_of

KEY_LENGTH = 200  # ReceivedDocument.external_key


class AlreadyReceived(Exception):
    """Another run (or process) integrated this document first."""

    def __init__(self, key: str):
        super().__init__(_("Already integrated."))
        self.key = key


_CANONICAL = json.JSONEncoder(sort_keys=True, default=str, ensure_ascii=False)
# The C encoder behind ``_CANONICAL.encode``, built once: ``encode`` builds one per call,
# a third of the encoding of a 500-byte payload (70,000 of them in a big send).
_C_ENCODE = json.encoder.c_make_encoder and json.encoder.c_make_encoder(
    None, str, json.encoder.encode_basestring, None, _CANONICAL.key_separator, _CANONICAL.item_separator,
    True, False, True)


def canonical_json(content) -> str:
    """The JSON text a fingerprint hashes (keys sorted); a valid JSON document of
    ``content`` too, so that a send can put on the wire the text it fingerprinted."""
    if _C_ENCODE is None or not isinstance(content, dict):
        return _CANONICAL.encode(content)
    return "".join(_C_ENCODE(content, 0))


def digest(text: str) -> str:
    """The fingerprint of a ``canonical_json`` text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def fingerprint(content) -> str:
    """A stable hash of a document's content, to tell a resent document that changed."""
    return digest(canonical_json(content))


def _stored(key) -> str:
    """A key as stored, so that ``known`` finds what ``claim`` recorded."""
    return str(key)[:KEY_LENGTH]


def known(connector_id: int, keys) -> dict[str, ReceivedDocument]:
    """The already received documents among ``keys``, by stored key."""
    keys = list(dict.fromkeys(_stored(key) for key in keys))
    if not keys:
        return {}
    # the keys as one parameter: an IN of 20,000 parameters (a reception's) costs
    # SQLAlchemy more to build than the database to run
    return {row.external_key: row for row in db.session.scalars(select(ReceivedDocument).where(
        ReceivedDocument.connector_id == connector_id, one_of(ReceivedDocument.external_key, keys)))}


def claim(run, key: str, document_type: str, content_hash: str = "") -> ReceivedDocument:
    """Reserve ``key`` for this run inside the open document transaction (flushed at once);
    set ``document_id`` on the returned row once the document exists."""
    record = ReceivedDocument(tenant_id=run.connector.tenant_id, connector_id=run.connector.id,
                              external_key=_stored(key), document_type=document_type,
                              content_hash=content_hash, run_id=run.id)
    db.session.add(record)
    try:
        db.session.flush()
    except IntegrityError as error:
        raise AlreadyReceived(str(key)) from error
    return record
