"""The pending lines of the CSV exchange in a table of their own: the migration moves
the lines of the documents already pending (JSON) there with their amounts and totals
(and back on downgrade), and a batch whose pending data changed between its checks and
its writing is refused whole and integrated document by document."""
import json
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade
from sqlalchemy import delete, func, insert, select

from core.extensions import db
from exchange import runs
from exchange.csv_exchange import receive
from models import DeliveryNote, DeliveryNoteLine
from models.exchange import Connector
from models.pending import PendingDocument, PendingDocumentLine

import csv_env

BEFORE = "p6a000000001"


def test_the_migration_moves_pending_lines_to_their_table_and_back(app, tenants):
    with app.app_context():
        tenant = tenants["ACME"]
        csv_env.dossier(tenant)
        connector_id = csv_env.connector(tenant).id
        db.session.commit()
        db.session.remove()
        downgrade(revision=BEFORE)
        try:
            old = sa.table("pending_documents", *[sa.column(name) for name in (
                "tenant_id", "connector_id", "reference", "party_code", "party_name", "payment_method",
                "content_hash", "file_name")], sa.column("document_date", sa.Date), sa.column("lines", sa.JSON),
                sa.column("total", sa.Numeric(14, 2)), sa.column("read_at", sa.DateTime))
            lines = [{"line": 2, "code": "B", "label": "Pose", "quantity": "3", "unit_price": "0.335",
                      "vat_rate": "5.5"},
                     {"line": 1, "code": "A", "label": "Fourniture", "quantity": "1.5", "unit_price": "10.01",
                      "vat_rate": "20"}]
            with db.engine.begin() as connection:
                connection.execute(insert(old).values(
                    tenant_id=tenant, connector_id=connector_id, reference="R1", document_date=date(2026, 11, 18),
                    party_code="C1", party_name="", payment_method="", lines=lines, total=Decimal("16.02"),
                    content_hash="h", file_name="Documents_x.csv", read_at=datetime(2026, 11, 18)))
        finally:
            upgrade()
        document = db.session.scalar(select(PendingDocument))
        assert [(line.position, line.line_number, line.code, line.amount) for line in document.lines] == [
            (1, 1, "A", Decimal("15.02")), (2, 2, "B", Decimal("1.01"))]  # 15.015 and 1.005 rounded half up
        assert document.lines[1].vat_rate == Decimal("5.5") and document.lines[1].unit_price == Decimal("0.335")
        # VAT per rate on the sum of its lines: 15.02 × 20 % = 3.004 → 3.00; 1.01 × 5.5 % = 0.05555 → 0.06
        assert (document.total_vat, document.total_incl_vat) == (Decimal("3.06"), Decimal("19.09"))
        db.session.remove()
        downgrade(revision=BEFORE)
        try:
            with db.engine.connect() as connection:
                stored = connection.execute(sa.text("SELECT lines FROM pending_documents")).scalar()
            stored = json.loads(stored) if isinstance(stored, str) else stored
            assert [(line["line"], line["code"], Decimal(line["quantity"])) for line in stored] == [
                (1, "A", Decimal("1.5")), (2, "B", Decimal("3"))]
        finally:
            upgrade()
        db.session.remove()


def test_a_batch_whose_pending_data_changed_meanwhile_is_integrated_one_by_one(app, tenants, monkeypatch):
    csv_env.clean_root(app)
    with app.app_context():
        tenant = tenants["ACME"]
        connector = csv_env.mapped_connector(tenant)
        db.session.commit()
        reread = "F259031_D260109"
        original, calls = receive._write_batch, []

        def racing(*args, **kwargs):
            if not calls:  # the file read again by another process: its pending rows replaced
                calls.append(True)
                _replace_pending(reread)
            return original(*args, **kwargs)

        monkeypatch.setattr(receive, "_write_batch", racing)
        csv_env.drop_samples()
        report = runs.summary(runs.run_now(db.session.get(Connector, connector.id), "receive"))
        items = {item["identifier"]: item for item in report["items"] if item["type"] == "document"}
        assert items[reread]["state"] == "error" and "relu" in items[reread]["message"], items[reread]
        assert {items[ref]["state"] for ref in items if ref != reread} == {"ok"}
        db.session.expire_all()
        assert db.session.scalars(select(PendingDocument.reference)).all() == [reread]
        again = runs.summary(runs.run_now(db.session.get(Connector, connector.id), "receive"))
        assert again["status"] == "success", again
        notes = db.session.scalars(select(DeliveryNote).order_by(DeliveryNote.number)).all()
        assert sorted(note.external_reference for note in notes) == sorted(items)
        total_lines = db.session.scalar(select(func.count(DeliveryNoteLine.id)))
        assert total_lines == sum(len(note.lines) for note in notes) and all(note.lines for note in notes)
        assert all(note.total_excl_vat == sum(line.amount for line in note.lines) for note in notes)
        assert db.session.scalar(select(func.count()).select_from(PendingDocumentLine)) == 0
        db.session.remove()


def _replace_pending(reference: str) -> None:
    documents, lines = PendingDocument.__table__, PendingDocumentLine.__table__
    with db.engine.begin() as other:
        row = other.execute(select(documents).where(documents.c.reference == reference)).mappings().one()
        old_lines = other.execute(select(lines).where(lines.c.pending_document_id == row["id"])).mappings().all()
        other.execute(delete(lines).where(lines.c.pending_document_id == row["id"]))
        other.execute(delete(documents).where(documents.c.id == row["id"]))
        new_id = other.execute(insert(documents).values(
            {key: value for key, value in row.items() if key != "id"})).inserted_primary_key[0]
        other.execute(insert(lines), [{**line, "pending_document_id": new_id} for line in old_lines])
