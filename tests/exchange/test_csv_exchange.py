"""CSV exchange: the sample files end to end, and every rule of the files, the
pending data and the integration (real files in real folders under EXCHANGE_ROOT)."""
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core.extensions import db
from exchange import runs
from models import Client, Contact, DeliveryNote, DeliveryNoteLine, Supplier
from models.pending import PendingDocument, PendingParty

import csv_env


@pytest.fixture
def ctx(app, tenants):
    csv_env.clean_root(app)
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


def _documents(db_session=None):
    return {note.external_reference: note for note in db.session.scalars(select(DeliveryNote))}


def test_a_document_with_an_unmapped_article_stays_pending_until_mapped(ctx):
    tenant, connector = ctx["tenant"], ctx["connector"]
    csv_env.map_codes(tenant, connector.id, ctx["setup"]["articles"], ("SRV-FRAIS", "LEG-DOC", "MSG-INT"))
    db.session.commit()
    csv_env.drop_samples()
    report = _run(ctx)
    assert report["status"] == "partial"
    errors = _items(report, "document", "error")
    assert [(item["identifier"], item["message"]) for item in errors] == [
        ("F259033_D260115", "Articles sans correspondance : NOTAIRE (le document reste en attente).")]
    assert set(_documents()) == {"F259030_D260118", "F259031_D260109"}
    assert db.session.scalars(select(PendingDocument.reference)).all() == ["F259033_D260115"]
    csv_env.map_codes(tenant, connector.id, ctx["setup"]["articles"], ("NOTAIRE",))
    db.session.commit()
    again = _run(ctx)
    assert again["status"] == "success"
    assert [item["identifier"] for item in _items(again, "document", "ok")] == ["F259033_D260115"]
    assert db.session.scalar(select(func.count(PendingDocument.id))) == 0
    note = _documents()["F259033_D260115"]
    assert note.client.code == "CLI-NEW" and [line.vat_rate.code for line in note.lines] == ["T20", "T0"]


def test_an_unknown_party_is_an_error_and_the_document_waits(ctx):
    csv_env.map_codes(ctx["tenant"], ctx["connector"].id, ctx["setup"]["articles"], csv_env.SAMPLE_CODES)
    db.session.commit()
    folder = csv_env.folder()
    (folder / "Documents_1.csv").write_text(csv_env.documents_file(
        ["R1;2026-11-18;NOBODY;Inconnu;Virement;1;SRV-FRAIS;Frais;1;10.5;20",
         "R2;18/11/2026;TRFVJJ;Jio;Virement;1;SRV-FRAIS;Frais;2;10,5;20"]), encoding="utf-8")
    (folder / "Tiers_1.csv").write_text(csv_env.PARTIES_HEADER + "\nCLIENT;TRFVJJ;Jio;;;;;;\n", encoding="utf-8")
    report = _run(ctx)
    error = _items(report, "document", "error")[0]
    assert error["identifier"] == "R1" and "Client inconnu NOBODY" in error["message"]
    notes = _documents()
    assert list(notes) == ["R2"] and notes["R2"].total_excl_vat == Decimal("21.00")
    assert db.session.scalars(select(PendingDocument.reference)).all() == ["R1"]


def test_a_document_received_again_with_other_content_is_a_warning_and_not_changed(ctx):
    csv_env.map_codes(ctx["tenant"], ctx["connector"].id, ctx["setup"]["articles"], csv_env.SAMPLE_CODES)
    db.session.add(Client(tenant_id=ctx["tenant"], code="TRFVJJ", name="Jio"))
    db.session.commit()
    folder = csv_env.folder()
    (folder / "Documents_1.csv").write_text(csv_env.documents_file(
        ["R1;18/11/2026;TRFVJJ;Jio;Virement;1;SRV-FRAIS;Frais;1;10;20"]), encoding="utf-8")
    assert _run(ctx)["counts"]["ok"] == 2  # the file and the document
    (folder / "Documents_2.csv").write_text(csv_env.documents_file(
        ["R1;18/11/2026;TRFVJJ;Jio;Virement;1;SRV-FRAIS;Frais;3;10;20"]), encoding="utf-8")
    report = _run(ctx)
    item = _items(report, "document")[0]
    assert item["state"] == "warning" and item["message"].startswith("Déjà intégré")
    assert _documents()["R1"].total_excl_vat == Decimal("10.00")
    assert db.session.scalar(select(func.count(PendingDocument.id))) == 0


def test_an_update_of_a_party_never_changes_its_family(ctx):
    from models import ClientFamily
    old = db.session.scalar(select(ClientFamily).filter_by(code="OLD"))
    db.session.add(Client(tenant_id=ctx["tenant"], code="TRFVJJ", name="Ancien nom", client_family_id=old.id))
    db.session.commit()
    folder = csv_env.folder()
    (folder / "Tiers_1.csv").write_text(csv_env.PARTIES_HEADER + "\nCLIENT;TRFVJJ;Nouveau nom;1 rue;75001;Paris;a@b.fr;01;\n",
                                        encoding="utf-8")
    report = _run(ctx)
    party = _items(report, "party")[0]
    assert party["state"] == "ok" and "mis à jour" in party["message"]
    client = db.session.scalar(select(Client).filter_by(code="TRFVJJ"))
    assert (client.name, client.city, client.client_family.code) == ("Nouveau nom", "Paris", "OLD")
    (folder / "Tiers_2.csv").write_text(csv_env.PARTIES_HEADER + "\nCLIENT;TRFVJJ;Nouveau nom;1 rue;75001;Paris;a@b.fr;01;\n",
                                        encoding="utf-8")
    assert _items(_run(ctx), "party")[0]["state"] == "skipped"


def _one_order_received(tenant, connector, setup, folder: str, payment_method: str, encoding: str):
    """``connector``'s sample codes mapped, one document of one line received: its order."""
    from models import Order
    csv_env.map_codes(tenant, connector.id, setup["articles"], csv_env.SAMPLE_CODES)
    db.session.commit()
    (csv_env.folder(folder) / "Documents_x.csv").write_text(csv_env.documents_file(
        [f"R9;18/11/2026;TRFVJJ;Jio;{payment_method};1;MSG-INT;Messagerie;2;43,44;20"]), encoding=encoding)
    run_id = runs.run_now(connector, "receive")
    db.session.rollback()
    assert runs.summary(run_id)["status"] == "success"
    return db.session.scalar(select(Order))


def test_orders_per_settings_with_establishment_depot_and_payment_method(app, tenants):
    from models import Establishment
    with app.app_context():
        tenant = tenants["ACME"]
        setup = csv_env.dossier(tenant)
        db.session.add_all([Establishment(tenant_id=tenant, code="E1", label="Siège"),
                            Establishment(tenant_id=tenant, code="E2", label="Agence"),
                            Client(tenant_id=tenant, code="TRFVJJ", name="Jio")])
        db.session.flush()
        connector = csv_env.connector(tenant, document_type="order", establishment="e2", folder="ord/in")
        order = _one_order_received(tenant, connector, setup, "ord/in", "Traite 30 jours", "cp1252")
        assert (order.number, order.state, order.establishment.code, order.depot.code, order.payment_method) == (
            "CO00001", "draft", "E2", "DEP1", "Traite 30 jours")
        assert order.origin == f"csv_exchange:{connector.id}" and order.total_incl_vat == Decimal("104.26")
        db.session.remove()


def test_the_dossier_s_only_establishment_receives_when_the_settings_name_none(app, tenants):
    """With one establishment the setting may stay empty: the documents are that
    establishment's, numbered from its own sequence when it has one."""
    from models import Establishment, NumberingSequence
    with app.app_context():
        tenant = tenants["ACME"]
        setup = csv_env.dossier(tenant)
        only = Establishment(tenant_id=tenant, code="E1", label="Siège")
        db.session.add_all([only, Client(tenant_id=tenant, code="TRFVJJ", name="Jio")])
        db.session.flush()
        db.session.add(NumberingSequence(tenant_id=tenant, code="CO-E1", label="Commandes E1", document_type="order",
                                         establishment_id=only.id, prefix="E1-", padding=4, next_number=1))
        connector = csv_env.connector(tenant, document_type="order", folder="one/in")
        order = _one_order_received(tenant, connector, setup, "one/in", "Virement", "utf-8")
        assert (order.establishment.code, order.number) == ("E1", "E1-0001")
        db.session.remove()


def test_an_unknown_vat_rate_is_an_error(ctx):
    csv_env.map_codes(ctx["tenant"], ctx["connector"].id, ctx["setup"]["articles"], csv_env.SAMPLE_CODES)
    db.session.add(Client(tenant_id=ctx["tenant"], code="TRFVJJ", name="Jio"))
    db.session.commit()
    (csv_env.folder() / "Documents_1.csv").write_text(csv_env.documents_file(
        ["R1;18/11/2026;TRFVJJ;Jio;;1;SRV-FRAIS;Frais;1;10;5,5", "R2;18/11/2026;TRFVJJ;Jio;;1;SRV-FRAIS;Frais;1;10;20.00"]))
    report = _run(ctx)
    assert _items(report, "document", "error")[0]["message"] == (
        "Aucun paramètre de taux de TVA pour le taux 5,5 (le document reste en attente).")
    assert list(_documents()) == ["R2"]


def test_the_demo_has_a_csv_partner_with_the_sample_files_waiting(app):
    from commands.seed import seed_demo
    from models.exchange import Connector
    csv_env.clean_root(app)
    with app.app_context():
        seed_demo()
        connector = db.session.scalar(select(Connector).filter_by(code="PARTENAIRE"))
        folder = csv_env.folder("demo/partenaire/in")
        assert sorted(path.name for path in folder.iterdir()) == ["Documents_20261120.csv", "Tiers_20261120.csv"]
        report = runs.summary(runs.run_now(connector, "receive"))
        db.session.rollback()
        assert [item["identifier"] for item in _items(report, "document", "ok")] == ["F259030_D260118",
                                                                                   "F259031_D260109"]
        assert "NOTAIRE" in _items(report, "document", "error")[0]["message"]
        db.session.remove()


def test_the_purge_deletes_the_pending_data_read_before_the_date(ctx):
    from datetime import datetime

    from exchange.purge import purge_runs
    csv_env.drop_samples()
    _run(ctx)
    assert db.session.scalar(select(func.count(PendingDocument.id))) == 3  # nothing mapped: all pending
    connector = db.session.get(type(ctx["connector"]), ctx["connector"].id)
    purge_runs(connector, datetime(2000, 1, 1), (None, "test"))
    assert db.session.scalar(select(func.count(PendingDocument.id))) == 3
    purge_runs(connector, datetime.max, (None, "test"))
    db.session.commit()
    assert db.session.scalar(select(func.count(PendingDocument.id))) == 0
    assert db.session.scalar(select(func.count(PendingParty.id))) == 0


def test_retrying_the_failed_items_integrates_them_once_mapped(ctx):
    tenant, connector = ctx["tenant"], ctx["connector"]
    csv_env.map_codes(tenant, connector.id, ctx["setup"]["articles"], ("SRV-FRAIS", "LEG-DOC", "MSG-INT"))
    db.session.commit()
    csv_env.drop_samples()
    first = runs.run_now(db.session.get(type(connector), connector.id), "receive")
    db.session.rollback()
    csv_env.map_codes(tenant, connector.id, ctx["setup"]["articles"], ("NOTAIRE",))
    db.session.commit()
    csv_env.drop_samples()  # files waiting are left for the next full run: a retry redoes the failed items only
    retry = runs.summary(runs.run_now(db.session.get(type(connector), connector.id), "receive", retry_of=first))
    assert [(item["type"], item["identifier"], item["state"]) for item in retry["items"]] == [
        ("document", "F259033_D260115", "ok")]
    assert len(_documents()) == 3


def test_contacts_go_under_their_party_and_wait_when_it_is_unknown(ctx):
    folder = csv_env.folder()
    (folder / "Tiers_1.csv").write_text(csv_env.PARTIES_HEADER + "\r\n" + "\r\n".join([
        "FOURNISSEUR;F1;Fournisseur Un;;;;;;", "CONTACT;K1;Paul;;;;paul@f1.fr;06;F1", "CONTACT;K2;Zoé;;;;;;NOBODY",
        "CONTACT;K3;Sans parent;;;;;;"]) + "\r\n", encoding="utf-8")
    report = _run(ctx)
    parties = {item["identifier"]: (item["state"], item["message"]) for item in _items(report)
               if item["type"] == "party"}
    assert parties["K1"] == ("ok", "Contact créé.")
    assert parties["K2"] == ("error", "Contact K2 : tiers inconnu NOBODY (il reste en attente).")
    assert parties["K3"][0] == "error" and "CodeParent" in parties["K3"][1]
    assert db.session.scalar(select(Contact).filter_by(code="K1")).supplier.code == "F1"
    assert db.session.scalars(select(PendingParty.code)).all() == ["K2"]
    (folder / "Tiers_2.csv").write_text(csv_env.PARTIES_HEADER + "\r\nCONTACT;K1;Paul Durand;;;;paul@f1.fr;06;F1\r\n")
    again = {item["identifier"]: item for item in _items(_run(ctx), "party")}
    assert again["K1"]["message"] == "Contact mis à jour." and again["K2"]["state"] == "error"
    assert db.session.scalar(select(Contact).filter_by(code="K1")).name == "Paul Durand"
