"""CSV exchange: the sample files end to end, and every rule of the files, the
pending data and the integration (real files in real folders under EXCHANGE_ROOT)."""
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core.extensions import db
from exchange import runs
from models import Client, Contact, DeliveryNote, DeliveryNoteLine, ReceivedDocument, Supplier
from models.exchange import SyncRunItem
from models.pending import PendingDocument, PendingParty

import csv_env


@pytest.fixture
def ctx(app, tenants):
    with app.app_context():
        tenant_id = tenants["ACME"]
        setup = csv_env.dossier(tenant_id)
        connector = csv_env.connector(tenant_id)
        db.session.commit()
        yield {"tenant": tenant_id, "connector": connector, "setup": setup}
        db.session.remove()


def _run(ctx, direction="receive", **options):
    connector = db.session.get(type(ctx["connector"]), ctx["connector"].id)
    run_id = runs.run_now(connector, direction, **options)
    db.session.rollback()
    return runs.summary(run_id)


def _items(report, type_=None, state=None):
    return [item for item in report["items"] if (type_ is None or item["type"] == type_)
            and (state is None or item["state"] == state)]


def test_samples_all_mapped_are_received_as_delivery_notes(ctx):
    tenant = ctx["tenant"]
    csv_env.map_codes(tenant, ctx["connector"].id, ctx["setup"]["articles"], csv_env.SAMPLE_CODES)
    db.session.commit()
    folder = csv_env.drop_samples()
    report = _run(ctx)
    assert report["status"] == "success", report
    notes = db.session.scalars(select(DeliveryNote).order_by(DeliveryNote.number)).all()
    assert [note.external_reference for note in notes] == ["F259030_D260118", "F259031_D260109", "F259033_D260115"]
    assert [note.number for note in notes] == ["BL00001", "BL00002", "BL00003"]
    first = notes[0]
    assert first.state == "draft" and first.payment_method == "Chèques" and first.depot.code == "DEP1"
    assert first.total_excl_vat == Decimal("71.88") and first.total_vat == Decimal("14.38")
    assert [line.label for line in first.lines] == ["Frais de services", "Légalisation documents"]
    assert first.lines[0].unit_price == Decimal("71.88") and first.lines[0].vat_rate.code == "T20"
    new = db.session.scalar(select(Client).filter_by(code="CLI-NEW"))
    assert new.name == "Études Martin & Fils" and new.city == "Lyon" and new.client_family.code == "CLI"
    supplier = db.session.scalar(select(Supplier).filter_by(code="FRN-010"))
    assert supplier.name == "Cébéo Distribution" and supplier.supplier_family.code == "FRN"
    contact = db.session.scalar(select(Contact).filter_by(code="CT-001"))
    assert contact.client.code == "CLI-NEW" and contact.email == "sophie@martin.example"
    assert sorted(path.name for path in (folder / "archive").iterdir()) == ["Documents_20261120.csv",
                                                                           "Tiers_20261120.csv"]
    assert not [path for path in folder.iterdir() if path.is_file()]
    assert db.session.scalar(select(func.count(PendingDocument.id))) == 0
    assert db.session.scalar(select(func.count(PendingParty.id))) == 0
    # parties are integrated before documents
    kinds = [item["type"] for item in report["items"] if item["type"] in ("party", "document")]
    assert kinds == ["party"] * 4 + ["document"] * 3
    # the same files again: nothing changes, every document "already integrated"
    csv_env.drop_samples()
    again = _run(ctx)
    assert [item["state"] for item in _items(again, "document")] == ["skipped"] * 3
    assert {item["message"] for item in _items(again, "document")} == {"Déjà intégré."}
    assert db.session.scalar(select(func.count(DeliveryNote.id))) == 3
    assert db.session.scalar(select(func.count(DeliveryNoteLine.id))) == 5
    assert db.session.scalar(select(func.count(Client.id))) == 2
