"""The idempotency record: a document key is integrated once per connector."""
from sqlalchemy import func, select

from core.extensions import db
from core.tenancy import tenant_scope
from exchange import received, runs
from models import Client, Connector, ReceivedDocument


def test_a_key_claimed_twice_is_integrated_once_and_the_second_is_skipped_whole(app, make_connector):
    connector_id = make_connector("RCV")
    with app.app_context():
        connector = db.session.get(Connector, connector_id)
        run_id = runs.start(connector, "receive")
        run = runs.Run(id=run_id, connector=connector, direction="receive", dry_run=False, owner="test")
        with tenant_scope(connector.tenant_id, (None, "test")):
            for attempt in ("RCV-A", "RCV-B"):
                with run.document("document", "DOC-1"):
                    record = received.claim(run, "DOC-1", "order", received.fingerprint({"lines": [1, 2]}))
                    client = Client(tenant_id=connector.tenant_id, code=attempt, name=attempt)
                    db.session.add(client)
                    db.session.flush()
                    record.document_id = client.id
            assert run.counts["ok"] == 1 and run.counts["skipped"] == 1
            codes = db.session.scalars(select(Client.code).where(Client.code.in_(["RCV-A", "RCV-B"]))).all()
            assert codes == ["RCV-A"]
            found = received.known(connector.id, ["DOC-1", "DOC-2"])
            assert list(found) == ["DOC-1"]
            assert found["DOC-1"].content_hash == received.fingerprint({"lines": [1, 2]})
            assert found["DOC-1"].content_hash != received.fingerprint({"lines": [1, 3]})
        run.finish(None, (None, "test"))


def test_a_dry_run_claims_nothing(app, make_connector):
    connector_id = make_connector("RCD")
    with app.app_context():
        connector = db.session.get(Connector, connector_id)
        run_id = runs.start(connector, "receive", dry_run=True)
        run = runs.Run(id=run_id, connector=connector, direction="receive", dry_run=True, owner="test")
        with tenant_scope(connector.tenant_id, (None, "test")):
            with run.document("document", "DOC-9"):
                received.claim(run, "DOC-9", "order")
        run.finish(None, (None, "test"))
        count = db.session.scalar(select(func.count()).select_from(ReceivedDocument)
                                  .where(ReceivedDocument.connector_id == connector_id))
        assert count == 0 and run.counts["ok"] == 1


def test_the_fingerprinted_text_is_the_json_the_fingerprints_were_always_made_of():
    """Sent records stored before keep matching: the text a send puts on the wire and
    hashes is what ``json.dumps`` (keys sorted, UTF-8, ``str`` for the rest) writes."""
    import hashlib
    import json
    from datetime import date
    from decimal import Decimal

    for content in ({"b": 1, "a": "é \"x\" \\ \n \u2028", "c": None, "d": 12.5, "e": [1, {"z": 2, "y": True}],
                     "f": Decimal("1.20"), "g": date(2026, 1, 2), "h": 10 ** 30, "i": float("nan")}, {}, [1, "a"]):
        expected = json.dumps(content, sort_keys=True, default=str, ensure_ascii=False)
        assert received.canonical_json(content) == expected
        assert received.fingerprint(content) == hashlib.sha256(expected.encode("utf-8")).hexdigest()
